-- One row per month (its first day), network, account, currency and status (stable: add columns, never rename).
CREATE OR REPLACE VIEW revenue_monthly AS
SELECT
    CAST(date_trunc('month', event_date) AS DATE) AS month,
    network,
    account,
    currency,
    status,
    sum(sale_amount) AS sales,
    sum(commission_amount) AS commission,
    count(*) AS lines
FROM commissions
GROUP BY ALL;
