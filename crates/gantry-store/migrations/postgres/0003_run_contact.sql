-- When the process running a run was last heard from, as on SQLite
-- (`migrations/sqlite/0003_run_contact.sql`).
ALTER TABLE runs ADD COLUMN last_contact_at TIMESTAMPTZ;
