-- Secret rotation (docs/DELIVERY.md, Rotating a Secret): when a webhook's Secret changes, the
-- one it replaces is kept until a grace deadline, so `webhook-signature` can carry both
-- signatures while receivers switch. Sealed at rest exactly like `secret`; both NULL: none.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_until BIGINT;   -- ms since the epoch, UTC
