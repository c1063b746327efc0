-- Money expected per month (from this month on, $months of them), network and currency:
-- firm = approved lines, likely = every line at its likely amount.
SELECT CAST(date_trunc('month', expected_on) AS DATE) AS month, network, currency,
       coalesce(sum(amount) FILTER (WHERE status = 'approved'), 0) AS firm,
       sum(likely_amount) AS likely,
       sum(amount) AS amount,
       CAST(sum(lines) AS BIGINT) AS lines
FROM payouts_expected,
     (SELECT coalesce(TRY_CAST(getvariable('passive_as_of') AS DATE), current_date) AS day) AS t
WHERE expected_on >= CAST(date_trunc('month', t.day) AS DATE)
  AND expected_on < CAST(date_trunc('month', t.day) AS DATE) + to_months(CAST($months AS INTEGER))
GROUP BY ALL
ORDER BY month, network, currency;
