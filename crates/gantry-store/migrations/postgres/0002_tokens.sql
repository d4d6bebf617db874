-- API tokens, as on SQLite (`migrations/sqlite/0002_tokens.sql`): only the sha256 of a secret.
CREATE TABLE tokens (
    name         TEXT PRIMARY KEY,
    scopes       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
