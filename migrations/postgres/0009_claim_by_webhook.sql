-- Delivery speed (docs/PERFORMANCE.md): one node at a time serves a webhook, recorded on the
-- webhook row, instead of a lock and a count of leases at every claim; and no index on the
-- lease columns, so leasing a delivery is a HOT update (no index entry written or left dead).
ALTER TABLE webhooks ADD COLUMN claimed_by TEXT;                     -- the node serving it
ALTER TABLE webhooks ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0; -- ms; free after
DROP INDEX IF EXISTS deliveries_due;
DROP INDEX IF EXISTS deliveries_claim;
DROP INDEX IF EXISTS deliveries_leases;
DROP INDEX IF EXISTS deliveries_locked_by;
-- Queued deliveries only (status 0 = pending): delivered ones leave this index. Every query
-- of the queue goes through it webhook by webhook.
CREATE INDEX deliveries_pending ON deliveries(webhook_id, next_attempt_at, id) WHERE status = 0;
-- Room in each page for the new version of a leased row (what makes its update HOT).
ALTER TABLE deliveries SET (fillfactor = 80);
