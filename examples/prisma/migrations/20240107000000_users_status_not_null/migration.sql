-- Step 3b: SET NOT NULL uses the CHECK validated by the previous migration as proof (PostgreSQL 12+),
-- so its ACCESS EXCLUSIVE lock lasts milliseconds instead of a full scan; the CHECK is then redundant.
ALTER TABLE "users" ALTER COLUMN "status" SET NOT NULL;
ALTER TABLE "users" DROP CONSTRAINT "users_status_not_null";
