-- Notifications (docs/DELIVERY.md, Notifications): one row per transition a webhook asked to
-- hear about (its first failure after a success, its switch to TooManyErrors), written in the
-- group commit that records the attempt causing it. The row is the in-app alert and the
-- e-mail's work item at once: the notifier leases pending mails like deliveries.
CREATE TABLE alerts (
    id                BIGSERIAL PRIMARY KEY,
    webhook_id        INTEGER NOT NULL,                -- no FK: a deleted webhook's alerts stay readable
    webhook_name      TEXT NOT NULL,                   -- its Name when the alert was made
    kind              TEXT NOT NULL,                   -- first-failure, disabled
    event_name        TEXT NOT NULL,                   -- the event of the attempt that caused it
    event_id          TEXT NOT NULL,                   -- its EventId
    last_error        TEXT NOT NULL,                   -- the attempt's LastError (at most 4000 chars)
    created_at        BIGINT NOT NULL,
    in_app            BOOLEAN NOT NULL,                -- true: listed by GET /api/v1/Alerts
    read_at           BIGINT,                         -- NULL: unread
    mail_state        INTEGER NOT NULL,                -- 0 none, 1 pending, 2 sent, 3 failed
    mail_to           TEXT NOT NULL,                   -- JSON array: recipients resolved at creation
    mail_tries        INTEGER NOT NULL DEFAULT 0,
    mail_next_at      BIGINT NOT NULL DEFAULT 0,      -- a pending mail is not tried before then
    mail_locked_until BIGINT NOT NULL DEFAULT 0,      -- lease: a notifier is sending it until then
    mail_error        TEXT                             -- the last SMTP failure
);
CREATE INDEX alerts_mail ON alerts(mail_state, mail_next_at);
-- The e-mail address of a user, for webhooks that name it in ErrorAssociates. NULL: none.
ALTER TABLE users ADD COLUMN email TEXT;
