-- Leases, as on SQLite (`migrations/sqlite/0009_leases.sql`): the reported runs still running
-- hold a lease that expires two minutes after their client was last heard from.
CREATE TABLE leases (
    resource    TEXT PRIMARY KEY NOT NULL,
    holder      TEXT,
    fencing     BIGINT NOT NULL CHECK (fencing > 0),
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX leases_by_expiry ON leases (expires_at);

INSERT INTO leases (resource, holder, fencing, acquired_at, expires_at)
SELECT 'run:' || id, 'remote client', 1, queued_at,
       COALESCE(last_contact_at, queued_at) + INTERVAL '120 seconds'
FROM runs
WHERE result = 'running' AND owner_host = 'remote client';
