UPDATE ingest_runs
SET status = $status, records_read = $records_read, lines_loaded = $lines_loaded,
    lines_rejected = $lines_rejected, lines_inserted = $lines_inserted,
    lines_changed = $lines_changed, lines_removed = $lines_removed,
    finished_at = $now, message = $message
WHERE run_id = $run_id;
