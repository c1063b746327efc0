-- One row per day, network, account, currency and status (stable: add columns, never rename).
CREATE OR REPLACE VIEW revenue_daily AS
SELECT
    event_date AS day,
    network,
    account,
    currency,
    status,
    sum(sale_amount) AS sales,
    sum(commission_amount) AS commission,
    count(*) AS lines
FROM commissions
GROUP BY ALL;
