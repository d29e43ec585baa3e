-- User names are unique and found by a key the server computes (the name in lower case, in
-- every script: COLLATE NOCASE folds ASCII only). Filled in at start for existing users.
ALTER TABLE users ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX users_name_key ON users(name_key);
-- The node holding a lease: always NULL here (one process serves a SQLite file), kept so
-- both backends share their lease statements.
ALTER TABLE deliveries ADD COLUMN locked_by TEXT;
