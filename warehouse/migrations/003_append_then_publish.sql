-- A load appends its lines and audit rows invisibly, then a small transaction publishes them
-- (warehouse/publish.py). Why: DuckDB 1.5 replays the row groups a bulk append wrote ahead of
-- its commit even when the process died before the commit's WAL was complete (wal_replay.cpp
-- merges them outside the replay's transaction; duckdb/duckdb#25931), so one big transaction
-- that appends and deletes could reopen half done: the new lines AND the lines they replace.
-- A transaction without a bulk append (deletes, updates, a few rows) replays all or nothing.
--
-- `commissions` and `commission_changes` read exactly as before (same columns, same order):
-- they are now views that hide what an unpublished load wrote. Existing ledgers keep every
-- row (load_seq 0 belongs to no load, so it is always visible).

CREATE TABLE ledger_loads (
    load_seq    BIGINT PRIMARY KEY,         -- tags every line and audit row the load wrote
    run_id      VARCHAR NOT NULL,
    published   BOOLEAN NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL
);

ALTER TABLE commissions RENAME TO commission_lines;
ALTER TABLE commission_lines ADD COLUMN load_seq BIGINT DEFAULT 0;

ALTER TABLE commission_changes RENAME TO commission_change_rows;
ALTER TABLE commission_change_rows ADD COLUMN load_seq BIGINT DEFAULT 0;

-- A view re-binds its query when read; a column added to a table below needs these re-created.
CREATE VIEW commissions AS
SELECT * EXCLUDE (load_seq)
FROM commission_lines
WHERE load_seq NOT IN (SELECT load_seq FROM ledger_loads WHERE NOT published);

CREATE VIEW commission_changes AS
SELECT * EXCLUDE (load_seq)
FROM commission_change_rows
WHERE load_seq NOT IN (SELECT load_seq FROM ledger_loads WHERE NOT published);
