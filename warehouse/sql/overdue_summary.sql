-- Overdue lines summed per network, account and currency.
SELECT network, account, currency, CAST(count(*) AS BIGINT) AS lines, sum(amount) AS amount,
       max(days_overdue) AS most_days
FROM unpaid_overdue
GROUP BY ALL
ORDER BY ALL;
