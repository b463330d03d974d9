-- Step 3a: VALIDATE scans the table under SHARE UPDATE EXCLUSIVE (reads and writes continue). It runs
-- only after the users_status backfill barrier cleared, so no row is NULL any more.
ALTER TABLE "users" VALIDATE CONSTRAINT "users_status_not_null";
