-- Make a load current: retire the lines it replaces and publish what it appended. Deletes and
-- a one-row update only: DuckDB replays such a transaction all or nothing (003's header).
DELETE FROM commission_lines AS c
USING _load_retired AS r
WHERE c.network = r.network AND c.account = r.account AND c.line_id = r.line_id
  AND c.load_seq <> $load_seq;

UPDATE ledger_loads SET published = true WHERE load_seq = $load_seq;
