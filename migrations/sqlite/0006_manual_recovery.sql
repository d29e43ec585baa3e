-- A delivery queued again by an operator (Recover): its next attempt is a manual one, logged
-- with trigger `manual`, that changes no counter of its webhook (docs/DELIVERY.md, Retry and
-- Recover). Cleared by the attempt.
ALTER TABLE deliveries ADD COLUMN manual INTEGER NOT NULL DEFAULT 0;
-- A webhook's last attempt and its failures of the last 24 hours (the REST summary fields).
CREATE INDEX attempts_webhook_started ON attempts(webhook_id, started_at);
