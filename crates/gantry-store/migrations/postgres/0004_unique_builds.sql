-- Which run holds each build number of an app, as on SQLite
-- (`migrations/sqlite/0004_unique_builds.sql`): the earliest queued of duplicates keeps it.
CREATE TABLE run_builds (
    app    TEXT NOT NULL,
    build  BIGINT NOT NULL,
    run_id TEXT NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    PRIMARY KEY (app, build)
);
INSERT INTO run_builds (app, build, run_id)
SELECT DISTINCT ON (app, build) app, build, id FROM runs WHERE build > 0
ORDER BY app, build, queued_at, id
ON CONFLICT DO NOTHING;

INSERT INTO build_numbers (app, last)
SELECT app, MAX(build) FROM runs WHERE build > 0 GROUP BY app
ON CONFLICT (app) DO UPDATE SET last = GREATEST(build_numbers.last, excluded.last);
