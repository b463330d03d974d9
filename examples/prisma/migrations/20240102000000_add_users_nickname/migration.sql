-- AlterTable: a nullable column without a default changes only the catalog (no rewrite, a brief lock).
ALTER TABLE "users" ADD COLUMN "nickname" TEXT;
