-- Money expected in the next $days days, per network and currency.
SELECT network, currency, sum(amount) AS amount, sum(likely_amount) AS likely,
       CAST(sum(lines) AS BIGINT) AS lines
FROM payouts_expected,
     (SELECT coalesce(TRY_CAST(getvariable('passive_as_of') AS DATE), current_date) AS day) AS t
WHERE expected_on >= t.day AND expected_on < t.day + CAST($days AS INTEGER)
GROUP BY ALL
ORDER BY ALL;
