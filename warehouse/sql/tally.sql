-- Commission per group and currency, split by status; `net` is what is earned or on its way
-- (pending + approved + paid). Currencies are never added together.
-- Two steps: the ledger is scanned once into a handful of rows per day and status (cheap,
-- integer keys), and only those are truncated to months and pivoted by status (bench/:
-- the one-step FILTER form spent its time evaluating six filters on every ledger row).
WITH per_status AS (
    SELECT {inner_group}, currency, status,
           count(*) AS lines, sum(sale_amount) AS sales, sum(commission_amount) AS commission
    FROM commissions
    WHERE ($network IS NULL OR network = $network)
      AND ($account IS NULL OR account = $account)
      AND ($since IS NULL OR event_date >= $since)
      AND ($until IS NULL OR event_date <= $until)
    GROUP BY ALL
)
SELECT
    {outer_group},
    currency,
    sum(lines)::BIGINT AS lines,
    sum(sales) FILTER (WHERE status <> 'reversed') AS sales,
    coalesce(sum(commission) FILTER (WHERE status = 'pending'), 0) AS pending,
    coalesce(sum(commission) FILTER (WHERE status = 'approved'), 0) AS approved,
    coalesce(sum(commission) FILTER (WHERE status = 'paid'), 0) AS paid,
    coalesce(sum(commission) FILTER (WHERE status = 'reversed'), 0) AS reversed,
    coalesce(sum(commission) FILTER (WHERE status <> 'reversed'), 0) AS net
FROM per_status
GROUP BY ALL
ORDER BY ALL;
