-- Token scopes as rows, one per scope a token holds, instead of space-separated text matched
-- with `LIKE`: each token keeps the scopes it had.
CREATE TABLE token_scopes (
    token_name TEXT NOT NULL REFERENCES tokens (name) ON DELETE CASCADE,
    scope      TEXT NOT NULL CHECK (scope = 'read' OR scope = 'report' OR scope = 'admin'),
    PRIMARY KEY (token_name, scope)
);
-- The admin tokens (the bootstrap token's check, the last admin token's) are read from here.
CREATE INDEX token_scopes_by_scope ON token_scopes (scope, token_name);

INSERT INTO token_scopes (token_name, scope)
SELECT name, 'read' FROM tokens WHERE (' ' || scopes || ' ') LIKE '% read %';
INSERT INTO token_scopes (token_name, scope)
SELECT name, 'report' FROM tokens WHERE (' ' || scopes || ' ') LIKE '% report %';
INSERT INTO token_scopes (token_name, scope)
SELECT name, 'admin' FROM tokens WHERE (' ' || scopes || ' ') LIKE '% admin %';

ALTER TABLE tokens DROP COLUMN scopes;
