-- The load a file ledger's load_begin.sql just numbered (its run's newest unpublished one).
SELECT max(load_seq) FROM ledger_loads WHERE run_id = $run_id AND NOT published;
