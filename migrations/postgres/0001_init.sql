-- Hookwire schema, PostgreSQL dialect. Times are BIGINT milliseconds since the Unix epoch (UTC).
-- Column types mirror the Rust types the shared row mapping decodes (INTEGER <-> i32,
-- BIGINT <-> i64), because PostgreSQL decodes strictly.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,              -- also the associate id shown to clients
    name          TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,                       -- argon2 PHC string
    created_at    BIGINT NOT NULL
);
-- user names are case-insensitive, as on SQLite (COLLATE NOCASE)
CREATE UNIQUE INDEX users_name ON users (lower(name));

CREATE TABLE apps (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,                   -- SHA-256 hex of the application token
    created_at BIGINT NOT NULL
);

CREATE TABLE tickets (
    ticket_hash TEXT PRIMARY KEY,                      -- SHA-256 hex; the ticket itself is never stored
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX tickets_expires ON tickets(expires_at);

CREATE TABLE webhooks (
    id                       SERIAL PRIMARY KEY,
    name                     TEXT NOT NULL,
    events                   TEXT NOT NULL,            -- JSON array of subscribed event names
    target_url               TEXT NOT NULL,
    secret                   TEXT,
    state                    BIGINT NOT NULL,          -- 1 Active, 2 Stopped, 3 TooManyErrors
    type                     TEXT NOT NULL,
    headers                  TEXT NOT NULL,            -- JSON array of [key, value]
    properties               TEXT NOT NULL,            -- JSON array of [key, typed value]
    registered               BIGINT NOT NULL,
    registered_associate_id  INTEGER NOT NULL,
    updated                  BIGINT NOT NULL,
    updated_associate_id     INTEGER NOT NULL,
    errors_email             TEXT,
    error_emails             TEXT NOT NULL,
    error_associates         TEXT NOT NULL,
    description              TEXT,
    notify_via               BIGINT NOT NULL,
    notify_when              BIGINT NOT NULL,
    app_id                   BIGINT REFERENCES apps(id),
    total_calls              INTEGER NOT NULL DEFAULT 0,
    total_errors             INTEGER NOT NULL DEFAULT 0,
    consecutive_errors       INTEGER NOT NULL DEFAULT 0,
    last_error               TEXT
);

CREATE TABLE events (
    id           BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,                 -- the GUID receivers see as EventId
    name         TEXT NOT NULL,
    primary_key  INTEGER NOT NULL,
    entity       TEXT NOT NULL,
    changes      TEXT NOT NULL,                        -- JSON array: payload `Changes`
    data         TEXT NOT NULL,                        -- JSON array of [key, typed value]
    associate_id INTEGER NOT NULL,
    occurred_at  BIGINT NOT NULL
);
CREATE INDEX events_occurred ON events(occurred_at);

CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    event_row       BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    webhook_id      INTEGER NOT NULL,                  -- no FK: a deleted webhook's deliveries are dropped by code
    status          BIGINT NOT NULL,                   -- 0 pending, 1 delivered, 2 dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL DEFAULT 0,         -- lease: claimed by a dispatcher until then
    locked_by       TEXT,                              -- the node holding the lease
    created_at      BIGINT NOT NULL
);
CREATE INDEX deliveries_event ON deliveries(event_row);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX deliveries_claim ON deliveries(webhook_id, status, next_attempt_at);
CREATE INDEX deliveries_leases ON deliveries(webhook_id, status, locked_until);
CREATE INDEX deliveries_locked_by ON deliveries(locked_by) WHERE locked_by IS NOT NULL;

-- Dispatcher nodes and their heartbeats (database clock): a node silent for longer than the
-- stale window is dead, and the other nodes give its leases back to the queue.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
