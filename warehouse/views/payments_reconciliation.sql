-- Per event month: what the ledger marks paid against what the networks' payments say
-- (stable: add columns, never rename). difference = ledger_paid - payments: positive when
-- the ledger counts as paid money no payment accounts for (a missing payment).
CREATE OR REPLACE VIEW payments_reconciliation AS
WITH
-- Only networks that report their payments can be reconciled: CJ and Amazon have no
-- payments API (affiliate-formats.md §10.3, §10.4).
payment_networks (network) AS (VALUES ('impact'), ('awin')),
ledger AS (
    SELECT network, account, currency, CAST(date_trunc('month', event_date) AS DATE) AS month,
           CAST(sum(commission_amount) AS DECIMAL(38, 4)) AS paid
    FROM commissions
    WHERE status = 'paid' AND network IN (SELECT network FROM payment_networks)
    GROUP BY ALL
),
-- impact.com: the paid invoice line items, by their EventMonthYear.
impact_paid AS (
    SELECT i.network, i.account, p.currency, i.event_month AS month,
           CAST(sum(i.amount) AS DECIMAL(38, 4)) AS paid
    FROM payment_items AS i
    JOIN payments AS p USING (network, account, payment_id)
    WHERE i.network = 'impact' AND i.status = 'paid'
    GROUP BY ALL
),
-- Awin: a paid payment is spread over the event months of the paid lines whose paymentId
-- names it; what those lines do not explain stays in the payment's own month.
awin_linked AS (
    SELECT c.account, t.payment_id, c.currency,
           CAST(date_trunc('month', c.event_date) AS DATE) AS month,
           sum(c.commission_amount) AS linked
    FROM commissions AS c
    JOIN commission_terms AS t USING (network, account, line_id)
    WHERE c.network = 'awin' AND c.status = 'paid' AND t.payment_id IS NOT NULL
    GROUP BY ALL
),
awin_payments AS (
    SELECT account, payment_id, currency, amount,
           CAST(date_trunc('month', coalesce(paid_on, due_on, created_on)) AS DATE) AS month
    FROM payments
    WHERE network = 'awin' AND status = 'paid'
),
awin_paid AS (
    SELECT 'awin' AS network, l.account, l.currency, l.month,
           CAST(sum(l.linked) AS DECIMAL(38, 4)) AS paid
    FROM awin_linked AS l
    JOIN awin_payments AS p USING (account, payment_id, currency)
    GROUP BY ALL
    UNION ALL
    SELECT 'awin', p.account, p.currency, p.month,
           CAST(p.amount - coalesce(sum(l.linked), 0) AS DECIMAL(38, 4))
    FROM awin_payments AS p
    LEFT JOIN awin_linked AS l USING (account, payment_id, currency)
    GROUP BY p.account, p.payment_id, p.currency, p.month, p.amount
    HAVING p.amount <> coalesce(sum(l.linked), 0)
),
combined AS (
    SELECT network, account, currency, month, paid AS ledger_paid,
           CAST(0 AS DECIMAL(38, 4)) AS payments
    FROM ledger
    UNION ALL
    SELECT network, account, currency, month, 0, paid FROM impact_paid
    UNION ALL
    SELECT network, account, currency, month, 0, paid FROM awin_paid
)
SELECT network, account, currency, month,
       sum(ledger_paid) AS ledger_paid,
       sum(payments) AS payments,
       sum(ledger_paid) - sum(payments) AS difference
FROM combined
GROUP BY network, account, currency, month;
