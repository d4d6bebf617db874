-- Users: the people tokens act for, so that approvals and the audit log name a person. A token
-- of no user is a machine token (a CI service, an agent), named by itself; the tokens made
-- before users existed stay so.
CREATE TABLE users (
    -- Letters, digits, `-`, `_`, `.` and `@`, as token names: never a `:`, so that an audit
    -- trail's `token:NAME` for a machine token cannot be taken for a user.
    name       TEXT PRIMARY KEY NOT NULL,
    email      TEXT,
    created_at TEXT NOT NULL
);

-- A user who holds tokens cannot be deleted from under them.
ALTER TABLE tokens ADD COLUMN user_name TEXT REFERENCES users (name);
-- A user's tokens.
CREATE INDEX tokens_by_user ON tokens (user_name);
