-- A mixed file that fails half-way, as happens in production (approved: the CHECK scan is dangerous): the CONCURRENTLY index commits on its
-- own, then the CHECK constraint fails because existing rows violate it (refunds are stored as
-- amount_cents <= 0). The failure branch runs rollback.sql, which drops the index the failed
-- migration left behind, and marks the migration rolled back.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_user_id_idx" ON "orders"("user_id");
ALTER TABLE "orders" ADD CONSTRAINT "orders_amount_positive" CHECK ("amount_cents" > 0);
