-- Token scopes as rows, as on SQLite (`migrations/sqlite/0008_token_scopes.sql`): each token
-- keeps the scopes it had.
CREATE TABLE token_scopes (
    token_name TEXT NOT NULL REFERENCES tokens (name) ON DELETE CASCADE,
    scope      TEXT NOT NULL CHECK (scope = 'read' OR scope = 'report' OR scope = 'admin'),
    PRIMARY KEY (token_name, scope)
);
CREATE INDEX token_scopes_by_scope ON token_scopes (scope, token_name);

INSERT INTO token_scopes (token_name, scope)
SELECT name, 'read' FROM tokens WHERE (' ' || scopes || ' ') LIKE '% read %';
INSERT INTO token_scopes (token_name, scope)
SELECT name, 'report' FROM tokens WHERE (' ' || scopes || ' ') LIKE '% report %';
INSERT INTO token_scopes (token_name, scope)
SELECT name, 'admin' FROM tokens WHERE (' ' || scopes || ' ') LIKE '% admin %';

ALTER TABLE tokens DROP COLUMN scopes;
