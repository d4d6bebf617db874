-- When the process running a run was last heard from (its events recorded, or a heartbeat), by
-- the clock of the process that recorded it. Runs reported to a server hold a lease on it: a
-- server marks such a run `interrupted` once its client has been silent for longer than that.
ALTER TABLE runs ADD COLUMN last_contact_at TEXT;
