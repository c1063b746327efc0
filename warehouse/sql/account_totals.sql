-- One account's ledger totals per currency and status, summed over every month: what a pull
-- prints after it loaded.
SELECT currency, status, sum(lines)::BIGINT, sum(sales)::VARCHAR, sum(commission)::VARCHAR
FROM revenue_monthly
WHERE network = $network AND account = $account
GROUP BY ALL ORDER BY ALL;
