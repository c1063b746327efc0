-- Each account's last run (any source: a pull, a Creators API pull, an ingest), and how it
-- ended: what `passive accounts` shows as "last pull".
SELECT
    network,
    account,
    max(started_at) AS last_started,
    arg_max(status, started_at) AS last_status,
    count(*) AS runs
FROM ingest_runs
WHERE account IS NOT NULL
GROUP BY network, account
ORDER BY network, account;
