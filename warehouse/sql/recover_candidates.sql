-- Runs a DuckLake's recovery must judge: left `running`, or with a load left unpublished, and
-- not this process's own ($live). Other writers may be alive, so each comes with the process
-- that wrote it (ledger_writers) for warehouse/publish.py to tell whether it is gone.
WITH open_runs AS (
    SELECT run_id, started_at FROM ingest_runs
    WHERE status = 'running' AND NOT list_contains($live, run_id)
    UNION ALL
    SELECT run_id, started_at FROM ledger_loads
    WHERE NOT published AND NOT list_contains($live, run_id)
)
SELECT o.run_id, min(o.started_at) AS started_at,
       any_value(w.host) AS host, any_value(w.pid) AS pid,
       any_value(w.process_started) AS process_started
FROM open_runs AS o
LEFT JOIN ledger_writers AS w USING (run_id)
GROUP BY o.run_id;
