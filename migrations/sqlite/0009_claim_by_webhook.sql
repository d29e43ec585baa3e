-- Delivery speed (docs/PERFORMANCE.md): no index on the lease columns (leasing a delivery
-- writes no index entry), and the queue's index holds queued deliveries only (status 0 =
-- pending): delivered ones leave it. Every query of the queue goes through it webhook by webhook.
DROP INDEX IF EXISTS deliveries_due;
DROP INDEX IF EXISTS deliveries_claim;
DROP INDEX IF EXISTS deliveries_leases;
CREATE INDEX deliveries_pending ON deliveries(webhook_id, next_attempt_at, id) WHERE status = 0;
