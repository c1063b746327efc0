-- Rejected records, newest first, of one run or all ($run NULL); $limit 0 means all.
SELECT run_id, network, account, locator, array_to_string(reasons, '; ') AS reasons, raw
FROM rejects
WHERE ($run IS NULL OR run_id = $run)
ORDER BY rejected_at DESC, locator
LIMIT CASE WHEN $limit > 0 THEN $limit END;
