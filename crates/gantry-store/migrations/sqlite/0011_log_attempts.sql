-- Which attempt of its task wrote each log line (1, then 2, 3, ... for a task with `retry`), so
-- that every view of a log can separate the attempts. Lines recorded before were the first's, or
-- are not told apart.
ALTER TABLE task_logs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
