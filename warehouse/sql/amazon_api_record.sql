-- One row per (account, file_name, md5, member): replaced by delete + insert (no upsert on a
-- DuckLake).
DELETE FROM amazon_api_reports
WHERE account = $account AND file_name = $file_name AND md5 = $md5 AND member = $member;
INSERT INTO amazon_api_reports
VALUES ($account, $marketplace, $file_name, $md5, $size, $last_modified, $member, $report_type,
        $outcome, $content_hash, $run_id, $now);
