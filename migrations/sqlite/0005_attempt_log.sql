-- The attempt log: one row per attempt to send a delivery (docs/DELIVERY.md, Attempt log),
-- written in the group commit that records the attempt's outcome, pruned by the retention
-- sweep. No foreign key: a delivery forgotten by the sweep keeps its log until it ages out.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     INTEGER NOT NULL,
    webhook_id      INTEGER NOT NULL,
    event_id        TEXT NOT NULL,                     -- the GUID receivers see as EventId
    event_name      TEXT NOT NULL,
    attempt         INTEGER NOT NULL,                  -- 1 for the delivery's first attempt
    trigger_kind    TEXT NOT NULL,                     -- automatic, manual, test
    started_at      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    http_status     INTEGER,                           -- NULL: no HTTP answer, see error_class
    error_class     TEXT,                              -- timeout, connect, tls, refused-by-policy, other
    response        TEXT NOT NULL,                     -- status line, headers, body cut at 4 KiB
    next_attempt_at INTEGER                            -- NULL: no further attempt planned
);
CREATE INDEX attempts_delivery ON attempts(delivery_id, id);
CREATE INDEX attempts_started ON attempts(started_at);
-- the Deliveries list of one webhook, newest first
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, id);
