-- Users, as on SQLite (`migrations/sqlite/0010_users.sql`): existing tokens become machine
-- tokens (no user).
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    email      TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE tokens ADD COLUMN user_name TEXT REFERENCES users (name);
CREATE INDEX tokens_by_user ON tokens (user_name);
