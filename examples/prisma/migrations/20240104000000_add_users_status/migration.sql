-- Step 1 of the 3-step NOT NULL: add the column nullable (catalog only). backfill.json beside this
-- file is a barrier: the next migration runs only once every row has a status.
ALTER TABLE "users" ADD COLUMN "status" TEXT;
