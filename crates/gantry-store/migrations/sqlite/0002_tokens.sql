-- API tokens. Only the sha256 of a token's secret is kept: the secret is shown once, when the
-- token is created, and a copy of the database gives nobody a usable token.
CREATE TABLE tokens (
    name         TEXT PRIMARY KEY NOT NULL,
    -- Space-separated, in the order read, report, admin; each scope implies the ones before it.
    scopes       TEXT NOT NULL,
    -- Lowercase hex sha256 of the secret.
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    -- Updated at most once a minute per token.
    last_used_at TEXT
);
