-- The part of the pipeline a run covers, as JSON (`{"to": "build"}`, `{"only": "test/unit"}`),
-- NULL for a whole run (and for every run recorded before), so that a partial run is never
-- taken for a whole one.
ALTER TABLE runs ADD COLUMN selection TEXT;
