-- CreateIndex, without blocking writes: CONCURRENTLY runs outside a transaction, so migration-runner
-- applies it alone and reports pg_stat_progress_create_index while it builds. Dropping a leftover
-- INVALID index first makes the file re-runnable after an interrupted build.
DROP INDEX CONCURRENTLY IF EXISTS "users_email_idx";
CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_email_idx" ON "users"("email");
