-- A load takes the next load_seq and records it unpublished, in a transaction of its own
-- BEFORE it writes a line: whatever it writes from then on stays hidden (the views of
-- 003_append_then_publish.sql) until load_publish.sql commits.
INSERT INTO ledger_loads
SELECT coalesce(max(load_seq), 0) + 1, $run_id, false, $now FROM ledger_loads;

-- The ledger lines the load replaces (old versions of changed ids, lines a report dropped).
CREATE OR REPLACE TEMP TABLE _load_retired (network VARCHAR, account VARCHAR, line_id VARCHAR);
