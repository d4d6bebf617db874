-- The build data repository on SQLite.
--
-- Times are TEXT in one fixed UTC format (`2024-05-01T12:00:00.000000Z`), so that they sort as
-- text; booleans are INTEGER 0/1.

-- The last build number handed out per app; numbers are never reused and never skipped.
CREATE TABLE build_numbers (
    app  TEXT PRIMARY KEY NOT NULL,
    last INTEGER NOT NULL
);

-- One row per run, created by its `run_queued` event.
CREATE TABLE runs (
    id                 TEXT PRIMARY KEY NOT NULL,
    app                TEXT NOT NULL,
    version            TEXT NOT NULL,
    build              INTEGER NOT NULL,
    revision           TEXT,
    branch             TEXT,
    traceable          INTEGER NOT NULL,
    untraceable_reason TEXT,
    mock               INTEGER NOT NULL,
    -- The resolved pipeline definition as it ran, JSON.
    pipeline           TEXT NOT NULL,
    -- `running` until the run finishes: success, failure, cancelled or interrupted.
    result             TEXT NOT NULL DEFAULT 'running',
    queued_at          TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    -- The process that runs it, so that a crash can be told from a run still going.
    owner_host         TEXT,
    owner_pid          INTEGER,
    owner_start_time   INTEGER
);
CREATE INDEX runs_by_time ON runs (queued_at, id);
CREATE INDEX runs_by_app ON runs (app, queued_at);
CREATE INDEX runs_by_build ON runs (app, build);
CREATE INDEX runs_running ON runs (result) WHERE result = 'running';

CREATE TABLE stages (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    -- Order of first appearance in the run.
    position    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path            TEXT NOT NULL,
    stage           TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    exit_code       INTEGER,
    allowed_failure INTEGER NOT NULL DEFAULT 0,
    skip_reason     TEXT,
    started_at      TEXT,
    finished_at     TEXT,
    UNIQUE (run_id, path)
);

-- Task output, one row per line, numbered from 1 per task so that a reader can follow a log
-- from any offset.
CREATE TABLE task_logs (
    task_id  INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    stream   TEXT NOT NULL,
    line     TEXT NOT NULL,
    at       TEXT NOT NULL,
    -- The `task_output` event's id: recording it twice appends nothing.
    event_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;

CREATE TABLE artifacts (
    run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task_path TEXT NOT NULL,
    name      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (run_id, task_path, name)
);
CREATE INDEX artifacts_by_digest ON artifacts (sha256);

-- Ids of the state-change events already applied, so that recording one again changes nothing.
CREATE TABLE recorded_events (
    id     TEXT PRIMARY KEY NOT NULL,
    run_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX recorded_events_by_run ON recorded_events (run_id);

-- CDEvents, Gantry's own and other tools', as JSON.
CREATE TABLE events (
    -- Arrival order, to keep events with the same timestamp in the order they came.
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    chain_id  TEXT,
    type      TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    json      TEXT NOT NULL
);
CREATE INDEX events_by_chain ON events (chain_id, timestamp, seq);
