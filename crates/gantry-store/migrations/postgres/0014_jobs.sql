-- The job queue, as on SQLite (`migrations/sqlite/0014_jobs.sql` explains each column).
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    app            TEXT,
    build          BIGINT,
    run_id         TEXT NOT NULL UNIQUE,
    repository     TEXT NOT NULL,
    revision       TEXT NOT NULL,
    branch         TEXT,
    -- JSONB: the dequeue matches labels by containment (`<@`).
    labels         JSONB NOT NULL,
    trigger_kind   TEXT NOT NULL,
    trigger_by     TEXT,
    trigger_detail TEXT,
    state          TEXT NOT NULL CHECK (state = 'queued' OR state = 'leased' OR state = 'finished' OR state = 'cancelled'),
    attempts       BIGINT NOT NULL DEFAULT 0,
    agent          TEXT,
    result         TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    queued_at      TIMESTAMPTZ NOT NULL,
    waiting_since  TIMESTAMPTZ NOT NULL,
    leased_at      TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ
);
CREATE INDEX jobs_by_state ON jobs (state, waiting_since, id);

CREATE TABLE job_attempts (
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt    BIGINT NOT NULL,
    run_id     TEXT NOT NULL UNIQUE,
    agent      TEXT NOT NULL,
    fencing    BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    ended_at   TIMESTAMPTZ,
    outcome    TEXT,
    PRIMARY KEY (job_id, attempt)
);

CREATE TABLE agents (
    name         TEXT PRIMARY KEY,
    labels       JSONB NOT NULL,
    version      TEXT,
    draining     BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE token_scopes DROP CONSTRAINT token_scopes_scope_check;
ALTER TABLE token_scopes ADD CONSTRAINT token_scopes_scope_check
    CHECK (scope = 'read' OR scope = 'report' OR scope = 'agent' OR scope = 'admin');
