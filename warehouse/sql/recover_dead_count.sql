-- Runs of a file ledger left `running` or unpublished by a process that is gone: the caller
-- holds the file's write lock, so every one that is not this process's own ($live).
SELECT (SELECT count(*) FROM ingest_runs WHERE status = 'running'
        AND NOT list_contains($live, run_id))
     + (SELECT count(*) FROM ledger_loads WHERE NOT published
        AND NOT list_contains($live, run_id));
