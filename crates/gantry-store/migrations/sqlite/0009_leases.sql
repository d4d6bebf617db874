-- Leases: who holds a resource (`run:<id>` for a run reported to a server, `job:<id>` for a
-- queued job) and until when. A holder keeps its lease by renewing it with the fencing number
-- it was given; every new acquisition increases that number, so a holder that lost its lease
-- (it expired, and it was swept or taken) is refused from then on. `holder` is NULL once the
-- lease was released or swept: the row stays, so that fencing numbers never go back.
CREATE TABLE leases (
    resource    TEXT PRIMARY KEY NOT NULL,
    holder      TEXT,
    fencing     INTEGER NOT NULL CHECK (fencing > 0),
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
-- The sweep reads the held leases that expired.
CREATE INDEX leases_by_expiry ON leases (expires_at);

-- Runs reported to a server were owned by a placeholder process ("remote client"); each one
-- still running now holds a lease that expires two minutes (the default lease) after its
-- client was last heard from. Times stay in the store's format (UTC, microseconds).
INSERT INTO leases (resource, holder, fencing, acquired_at, expires_at)
SELECT 'run:' || id, 'remote client', 1, queued_at,
       strftime('%Y-%m-%dT%H:%M:%f', COALESCE(last_contact_at, queued_at), '+120 seconds') || '000Z'
FROM runs
WHERE result = 'running' AND owner_host = 'remote client';
