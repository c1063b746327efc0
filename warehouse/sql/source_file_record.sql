INSERT OR IGNORE INTO source_files
VALUES ($content_hash, $network, $account, $file_name, $report_type, $marketplace,
        $period_start, $period_end, $lines, $run_id, $now);
