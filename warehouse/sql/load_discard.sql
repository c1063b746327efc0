-- Undo a load that failed before it published: what it appended was never visible.
DELETE FROM commission_lines WHERE load_seq = $load_seq;
DELETE FROM commission_change_rows WHERE load_seq = $load_seq;
DELETE FROM rejects WHERE run_id = $run_id;
DELETE FROM ledger_loads WHERE load_seq = $load_seq AND NOT published;
