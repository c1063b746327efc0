-- Remember a report's content once (the first run that loaded it); a DuckLake has no
-- INSERT OR IGNORE, so the key (network, account, content_hash) is kept by NOT EXISTS.
INSERT INTO source_files
SELECT $content_hash, $network, $account, $file_name, $report_type, $marketplace,
       $period_start, $period_end, $lines, $run_id, $now
WHERE NOT EXISTS (
    SELECT 1 FROM source_files
    WHERE network = $network AND account = $account AND content_hash = $content_hash
);
