INSERT OR REPLACE INTO amazon_api_reports
VALUES ($account, $marketplace, $file_name, $md5, $size, $last_modified, $member, $report_type,
        $outcome, $content_hash, $run_id, $now);
