-- Commission per group and currency, split by status; `net` is what is earned or on its way
-- (pending + approved + paid). Currencies are never added together.
SELECT
    {group_select},
    currency,
    count(*) AS lines,
    sum(sale_amount) FILTER (WHERE status <> 'reversed') AS sales,
    coalesce(sum(commission_amount) FILTER (WHERE status = 'pending'), 0) AS pending,
    coalesce(sum(commission_amount) FILTER (WHERE status = 'approved'), 0) AS approved,
    coalesce(sum(commission_amount) FILTER (WHERE status = 'paid'), 0) AS paid,
    coalesce(sum(commission_amount) FILTER (WHERE status = 'reversed'), 0) AS reversed,
    coalesce(sum(commission_amount) FILTER (WHERE status <> 'reversed'), 0) AS net
FROM commissions
WHERE ($network IS NULL OR network = $network)
  AND ($account IS NULL OR account = $account)
  AND ($since IS NULL OR event_date >= $since)
  AND ($until IS NULL OR event_date <= $until)
GROUP BY ALL
ORDER BY ALL;
