-- Ledger totals (non-reversed commission) of one network's months between two days, per
-- currency: what an ingest prints for the months its reports covered.
SELECT month, currency, sum(lines)::BIGINT, sum(sales), sum(commission)
FROM revenue_monthly
WHERE network = $network AND ($account IS NULL OR account = $account) AND status <> 'reversed'
    AND month BETWEEN date_trunc('month', $start::DATE) AND $end
GROUP BY ALL ORDER BY ALL;
