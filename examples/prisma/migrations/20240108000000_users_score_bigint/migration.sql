-- AlterTable: INTEGER -> BIGINT is not binary-coercible, so PostgreSQL rewrites the whole table
-- under ACCESS EXCLUSIVE (no reads, no writes). The linter calls it dangerous: migration-runner
-- refuses it until the execution input names it in "approve", then snapshots before applying.
ALTER TABLE "users" ALTER COLUMN "score" SET DATA TYPE BIGINT;
