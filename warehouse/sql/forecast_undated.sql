-- What the payout rules cannot date yet, per network, currency and basis.
SELECT network, currency, basis, CAST(sum(lines) AS BIGINT) AS lines, sum(amount) AS amount,
       sum(likely_amount) AS likely
FROM payouts_expected
WHERE expected_on IS NULL
GROUP BY ALL
ORDER BY ALL;
