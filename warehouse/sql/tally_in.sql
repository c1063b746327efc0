-- The tally in one base currency (commissions_in): one row per group, every currency's lines
-- converted and added up; `fallback` lines took a fixing up to 7 days before their day, and
-- `unconverted` lines (no fixing in reach, or a currency the ECB does not quote) are counted
-- but are in none of the amounts.
WITH lines AS (
    SELECT {inner_group}, status, sales_base, commission_base, fallback, unconverted
    FROM commissions_in($base, basis := $basis)
    WHERE ($network IS NULL OR network = $network)
      AND ($account IS NULL OR account = $account)
      AND ($since IS NULL OR event_date >= $since)
      AND ($until IS NULL OR event_date <= $until)
)
SELECT
    {outer_group},
    CAST($base AS VARCHAR) AS currency,
    count(*) AS lines,
    sum(sales_base) FILTER (WHERE status <> 'reversed') AS sales,
    coalesce(sum(commission_base) FILTER (WHERE status = 'pending'), 0) AS pending,
    coalesce(sum(commission_base) FILTER (WHERE status = 'approved'), 0) AS approved,
    coalesce(sum(commission_base) FILTER (WHERE status = 'paid'), 0) AS paid,
    coalesce(sum(commission_base) FILTER (WHERE status = 'reversed'), 0) AS reversed,
    coalesce(sum(commission_base) FILTER (WHERE status <> 'reversed'), 0) AS net,
    count(*) FILTER (WHERE fallback) AS fallback,
    count(*) FILTER (WHERE unconverted) AS unconverted
FROM lines
GROUP BY ALL
ORDER BY ALL;
