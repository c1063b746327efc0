-- A view re-applied with new text replaces its row (delete + insert: a DuckLake has no upsert).
DELETE FROM _migrations WHERE name = $migration;
INSERT INTO _migrations VALUES ($migration, $digest, now());
