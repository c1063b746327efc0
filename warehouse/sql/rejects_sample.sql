-- The first rejected records of some runs, where each was and why, with how many there are.
SELECT
    locator,
    array_to_string(reasons, '; ') AS reasons,
    count(*) OVER () AS total
FROM rejects
WHERE list_contains($run_ids, run_id)
ORDER BY rejected_at, run_id, length(locator), locator
LIMIT $limit;
