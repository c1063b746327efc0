-- What migrations and views a ledger has, by the sha256 of their text. No PRIMARY KEY (a
-- DuckLake has none): migration_record.sql keeps `name` unique. Ledgers made before keep theirs.
CREATE TABLE IF NOT EXISTS _migrations (
    name        VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL
);
