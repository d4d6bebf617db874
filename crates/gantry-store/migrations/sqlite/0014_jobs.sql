-- The job queue: a job is one run of a repository at a commit, waiting for an agent that has
-- all of its labels (`queued`), held by one (`leased`, under the lease `job:<id>`), or done
-- (`finished`, `cancelled`). Its build number is allocated when it is queued if its app is
-- known then, else when its first attempt starts (the app is read from `gantry.yml`).
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY NOT NULL,
    app            TEXT,
    build          INTEGER,
    -- The run the current (or next) attempt records as: each attempt is a run of its own.
    run_id         TEXT NOT NULL UNIQUE,
    repository     TEXT NOT NULL,
    revision       TEXT NOT NULL,
    branch         TEXT,
    -- The labels an agent needs, a JSON object of `name: value`.
    labels         TEXT NOT NULL,
    trigger_kind   TEXT NOT NULL,
    trigger_by     TEXT,
    trigger_detail TEXT,
    state          TEXT NOT NULL CHECK (state = 'queued' OR state = 'leased' OR state = 'finished' OR state = 'cancelled'),
    attempts       INTEGER NOT NULL DEFAULT 0,
    -- The agent holding (or that last held) the job.
    agent          TEXT,
    -- How the run ended, once finished.
    result         TEXT,
    -- Someone asked for it to stop while an agent held it: the agent's next heartbeat hears it.
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    queued_at      TEXT NOT NULL,
    -- Since when it waits: its queueing, or the loss of its last agent.
    waiting_since  TEXT NOT NULL,
    leased_at      TEXT,
    finished_at    TEXT
);
-- Agents take the oldest queued job first.
CREATE INDEX jobs_by_state ON jobs (state, waiting_since, id);

-- Each attempt of a job: which agent ran it under which fencing number, as which run, and how
-- it ended (`agent_lost` when its lease expired).
CREATE TABLE job_attempts (
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt    INTEGER NOT NULL,
    run_id     TEXT NOT NULL UNIQUE,
    agent      TEXT NOT NULL,
    fencing    INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    outcome    TEXT,
    PRIMARY KEY (job_id, attempt)
);

-- Agents as last heard from: what they offer, and whether they are draining.
CREATE TABLE agents (
    name         TEXT PRIMARY KEY NOT NULL,
    labels       TEXT NOT NULL,
    version      TEXT,
    draining     INTEGER NOT NULL DEFAULT 0,
    last_seen_at TEXT NOT NULL
);

-- The `agent` scope: taking jobs and reporting them. SQLite changes a check by copying the table.
CREATE TABLE token_scopes_new (
    token_name TEXT NOT NULL REFERENCES tokens (name) ON DELETE CASCADE,
    scope      TEXT NOT NULL CHECK (scope = 'read' OR scope = 'report' OR scope = 'agent' OR scope = 'admin'),
    PRIMARY KEY (token_name, scope)
);
INSERT INTO token_scopes_new (token_name, scope) SELECT token_name, scope FROM token_scopes;
DROP TABLE token_scopes;
ALTER TABLE token_scopes_new RENAME TO token_scopes;
CREATE INDEX token_scopes_by_scope ON token_scopes (scope, token_name);
