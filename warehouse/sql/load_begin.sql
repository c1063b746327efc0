-- A load takes a load_seq and records it unpublished, in a transaction of its own BEFORE it
-- writes a line: whatever it writes from then on stays hidden (the views of
-- 003_append_then_publish.sql) until load_publish.sql commits. A file ledger numbers loads in
-- order ($load_seq NULL: one writer at a time); a DuckLake's concurrent writers each bring a
-- random one, as they cannot both see the other's max.
INSERT INTO ledger_loads (load_seq, run_id, published, started_at, network, account)
SELECT coalesce($load_seq, coalesce(max(load_seq), 0) + 1), $run_id, false, $now, $network, $account
FROM ledger_loads;

INSERT INTO ledger_writers VALUES ($run_id, $host, $pid, $process_started, $now);
