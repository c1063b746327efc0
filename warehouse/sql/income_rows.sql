-- Income per month, network, account and currency: the columns of the income_monthly view
-- (earned = approved + paid, net = earned + pending; a reversed line is never income).
SELECT
    month,
    network,
    account,
    currency,
    coalesce(sum(commission) FILTER (WHERE status IN ('approved', 'paid')), 0) AS earned,
    coalesce(sum(commission) FILTER (WHERE status = 'pending'), 0) AS pending,
    coalesce(sum(commission) FILTER (WHERE status = 'reversed'), 0) AS reversed,
    coalesce(sum(commission) FILTER (WHERE status IN ('approved', 'paid', 'pending')), 0) AS net,
    sum(lines)::BIGINT AS lines
FROM revenue_monthly
GROUP BY ALL
ORDER BY month, currency, network, account;
