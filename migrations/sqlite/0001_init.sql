-- Hookwire schema, SQLite dialect. Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- also the associate id shown to clients
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,                       -- argon2 PHC string
    created_at    INTEGER NOT NULL
);

CREATE TABLE apps (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,                   -- SHA-256 hex of the application token
    created_at INTEGER NOT NULL
);

CREATE TABLE tickets (
    ticket_hash TEXT PRIMARY KEY,                      -- SHA-256 hex of the ticket; the ticket itself is never stored
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX tickets_expires ON tickets(expires_at);

CREATE TABLE webhooks (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    name                     TEXT NOT NULL,
    events                   TEXT NOT NULL,            -- JSON array of subscribed event names
    target_url               TEXT NOT NULL,
    secret                   TEXT,
    state                    INTEGER NOT NULL,         -- WebhookState number: 1 Active, 2 Stopped, 3 TooManyErrors
    type                     TEXT NOT NULL,
    headers                  TEXT NOT NULL,            -- JSON array of [key, value]
    properties               TEXT NOT NULL,            -- JSON array of [key, typed value]
    registered               INTEGER NOT NULL,
    registered_associate_id  INTEGER NOT NULL,
    updated                  INTEGER NOT NULL,
    updated_associate_id     INTEGER NOT NULL,
    errors_email             TEXT,
    error_emails             TEXT NOT NULL,            -- JSON array of strings
    error_associates         TEXT NOT NULL,            -- JSON array of associate ids
    description              TEXT,
    notify_via               INTEGER NOT NULL,
    notify_when              INTEGER NOT NULL,         -- bit flags
    app_id                   INTEGER REFERENCES apps(id),  -- owning application, NULL = none
    total_calls              INTEGER NOT NULL DEFAULT 0,
    total_errors             INTEGER NOT NULL DEFAULT 0,
    consecutive_errors       INTEGER NOT NULL DEFAULT 0,
    last_error               TEXT
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,                  -- the GUID receivers see as EventId
    name        TEXT NOT NULL,
    primary_key INTEGER NOT NULL,
    entity      TEXT NOT NULL,                         -- payload `Entity`
    changes     TEXT NOT NULL,                         -- JSON array: payload `Changes`
    data        TEXT NOT NULL,                         -- JSON array of [key, typed value]: `FieldValues`
    associate_id INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL
);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_row       INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    webhook_id      INTEGER NOT NULL,                  -- no FK: a deleted webhook's deliveries are dropped by code
    status          INTEGER NOT NULL,                  -- 0 pending, 1 delivered, 2 dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL DEFAULT 0,        -- lease: claimed by a dispatcher until then
    created_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
-- claims: a webhook's due deliveries in order, and its leases in flight
CREATE INDEX deliveries_claim ON deliveries(webhook_id, status, next_attempt_at);
CREATE INDEX deliveries_leases ON deliveries(webhook_id, status, locked_until);
