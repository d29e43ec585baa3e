-- Why a delivery was set aside on the dead-letter list when it was not for outliving the
-- retention window (its stored event could not be read, say). NULL: retention.
ALTER TABLE deliveries ADD COLUMN dead_reason TEXT;
