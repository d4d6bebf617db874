-- Pages of one app's or one branch's runs, newest first, read straight from an index: with `id`
-- in the index, ties of `queued_at` need no sort, and a branch filter no scan of every run.
DROP INDEX runs_by_app;
CREATE INDEX runs_by_app ON runs (app, queued_at, id);
CREATE INDEX runs_by_branch ON runs (branch, queued_at, id);
