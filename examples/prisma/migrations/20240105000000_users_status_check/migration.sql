-- Step 2: a CHECK constraint NOT VALID takes a brief lock and scans nothing; new rows are checked at once.
ALTER TABLE "users" ADD CONSTRAINT "users_status_not_null" CHECK ("status" IS NOT NULL) NOT VALID;
