-- Undo what 20240109000000_orders_user_index_and_check committed before it failed.
DROP INDEX IF EXISTS "orders_user_id_idx";
ALTER TABLE "orders" DROP CONSTRAINT IF EXISTS "orders_amount_positive";
