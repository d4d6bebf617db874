-- The build data repository on PostgreSQL: the same tables as on SQLite
-- (`migrations/sqlite/0001_build_data.sql` explains each), with native types.

CREATE TABLE build_numbers (
    app  TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE runs (
    id                 TEXT PRIMARY KEY,
    app                TEXT NOT NULL,
    version            TEXT NOT NULL,
    build              BIGINT NOT NULL,
    revision           TEXT,
    branch             TEXT,
    traceable          BOOLEAN NOT NULL,
    untraceable_reason TEXT,
    mock               BOOLEAN NOT NULL,
    pipeline           JSONB NOT NULL,
    result             TEXT NOT NULL DEFAULT 'running',
    queued_at          TIMESTAMPTZ NOT NULL,
    started_at         TIMESTAMPTZ,
    finished_at        TIMESTAMPTZ,
    owner_host         TEXT,
    owner_pid          BIGINT,
    owner_start_time   BIGINT
);
CREATE INDEX runs_by_time ON runs (queued_at, id);
CREATE INDEX runs_by_app ON runs (app, queued_at);
CREATE INDEX runs_by_build ON runs (app, build);
CREATE INDEX runs_running ON runs (result) WHERE result = 'running';
-- Byte order, for finding runs by an id prefix.
CREATE INDEX runs_by_id_prefix ON runs (id COLLATE "C");

CREATE TABLE stages (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    position    BIGINT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE tasks (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path            TEXT NOT NULL,
    stage           TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    exit_code       BIGINT,
    allowed_failure BOOLEAN NOT NULL DEFAULT FALSE,
    skip_reason     TEXT,
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    UNIQUE (run_id, path)
);

CREATE TABLE task_logs (
    task_id  BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    stream   TEXT NOT NULL,
    line     TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE artifacts (
    run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task_path TEXT NOT NULL,
    name      TEXT NOT NULL,
    size      BIGINT NOT NULL,
    sha256    TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, task_path, name)
);
CREATE INDEX artifacts_by_digest ON artifacts (sha256);

CREATE TABLE recorded_events (
    id     TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX recorded_events_by_run ON recorded_events (run_id);

CREATE TABLE events (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    chain_id  TEXT,
    type      TEXT NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    json      JSONB NOT NULL
);
CREATE INDEX events_by_chain ON events (chain_id, timestamp, seq);
