INSERT INTO ingest_runs (run_id, flow_run_id, source, network, account, file_name, content_hash,
                         window_start, window_end, status, started_at)
VALUES ($run_id, $flow_run_id, $source, $network, $account, $file_name, $content_hash,
        $window_start, $window_end, 'running', $now);

INSERT INTO ledger_writers VALUES ($run_id, $host, $pid, $process_started, $now);
