-- Runs left `running` and loads left unpublished by a process that died (the caller holds the
-- ledger's write lock, so no other process has it open; runs of this process are `$live`).
-- Their appended lines, audit rows and rejects were never visible: delete them, and say when
-- the run was found. Deletes and updates only, so this replays all or nothing too.
CREATE OR REPLACE TEMP TABLE _dead_runs AS
SELECT run_id FROM ingest_runs WHERE status = 'running' AND NOT list_contains($live, run_id)
UNION
SELECT run_id FROM ledger_loads WHERE NOT published AND NOT list_contains($live, run_id);

DELETE FROM commission_lines
WHERE load_seq IN (SELECT load_seq FROM ledger_loads WHERE NOT published
                   AND run_id IN (SELECT run_id FROM _dead_runs));

DELETE FROM commission_change_rows
WHERE load_seq IN (SELECT load_seq FROM ledger_loads WHERE NOT published
                   AND run_id IN (SELECT run_id FROM _dead_runs));

DELETE FROM rejects WHERE run_id IN (SELECT run_id FROM _dead_runs);

DELETE FROM ledger_loads WHERE NOT published AND run_id IN (SELECT run_id FROM _dead_runs);

UPDATE ingest_runs
SET status = 'interrupted', finished_at = $now,
    message = 'interrupted: its process ended before the run finished; nothing it wrote is in the ledger (found when the ledger was next opened for writing)'
WHERE status = 'running' AND run_id IN (SELECT run_id FROM _dead_runs);

DROP TABLE _dead_runs;
