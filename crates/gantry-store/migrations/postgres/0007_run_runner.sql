-- The machine and process a run ran on, as it reported itself: for runs reported to a server,
-- whose owner columns hold the server's placeholder (see `remote_owner`). NULL when unknown.
ALTER TABLE runs ADD COLUMN runner_host TEXT;
ALTER TABLE runs ADD COLUMN runner_pid BIGINT;
