-- Ordered delivery per record (docs/DELIVERY.md, "Ordered delivery"): a webhook's option,
-- each delivery's record (NULL: not ordered), and the status 3 = waiting for the delivery
-- of the same record before it. Both indexes hold only open, ordered deliveries.
ALTER TABLE webhooks ADD COLUMN delivery_order BIGINT NOT NULL DEFAULT 0;  -- 0 Any, 1 PerRecord
ALTER TABLE deliveries ADD COLUMN record_key TEXT;                         -- e.g. contact:42
CREATE INDEX deliveries_record_pending ON deliveries(webhook_id, record_key)
    WHERE status = 0 AND record_key IS NOT NULL;
CREATE INDEX deliveries_record_waiting ON deliveries(webhook_id, record_key, id) WHERE status = 3;
