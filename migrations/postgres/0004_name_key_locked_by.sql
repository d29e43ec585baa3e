-- User names are unique and found by a key the server computes (the name in lower case, in
-- every script, whatever the database's locale: lower() folds ASCII only under the C
-- locale). Filled in at start for existing users; it replaces the index on lower(name).
ALTER TABLE users ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX users_name_key ON users(name_key);
DROP INDEX IF EXISTS users_name;
