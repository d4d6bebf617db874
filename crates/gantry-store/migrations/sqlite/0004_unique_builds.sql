-- Which run holds each build number of an app (mock runs, build 0, hold none): a build number
-- belongs to one run. Stores written before this check may already hold two runs with the same
-- number; the earliest queued keeps it (the others stay readable, by id).
CREATE TABLE run_builds (
    app    TEXT NOT NULL,
    build  INTEGER NOT NULL,
    run_id TEXT NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    PRIMARY KEY (app, build)
);
INSERT OR IGNORE INTO run_builds (app, build, run_id)
SELECT app, build, id FROM runs WHERE build > 0 ORDER BY queued_at, id;

-- Numbers recorded beyond an app's counter are taken: the counter moves past them, so that
-- they are never handed out again.
INSERT INTO build_numbers (app, last)
SELECT app, MAX(build) FROM runs WHERE build > 0 GROUP BY app
ON CONFLICT (app) DO UPDATE SET last = MAX(build_numbers.last, excluded.last);
