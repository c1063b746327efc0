-- Every ledger line not yet paid and not reversed, with the day its network is expected to
-- pay it and why (issue 15's forecast rule; README "When the money arrives"). The view of
-- one line per row that payouts_expected sums and unpaid_overdue filters.
-- "Today" is current_date unless `SET VARIABLE passive_as_of = DATE '...'` names another day
-- (tests and `passive forecast --as-of`).
CREATE OR REPLACE VIEW payout_lines AS
WITH RECURSIVE
as_of AS (
    SELECT coalesce(TRY_CAST(getvariable('passive_as_of') AS DATE), current_date) AS day
),
open_lines AS (
    SELECT c.network, c.account, c.line_id, c.currency, c.status, c.event_date,
           c.commission_amount AS amount,
           CAST(date_trunc('month', c.event_date) AS DATE) AS event_month,
           t.campaign_id, t.locking_date, t.validated_on, t.payment_id,
           coalesce(t.extended, false) AS extended
    FROM commissions AS c
    LEFT JOIN commission_terms AS t USING (network, account, line_id)
    WHERE c.status IN ('pending', 'approved')
),
-- The account's reversal rate by amount over the last 365 days of decided lines, as exact
-- ten-thousandths: likely = amount x (decided - reversed) / decided, rounded half away from 0.
reversal AS (
    SELECT c.network, c.account, c.currency,
           CAST(coalesce(sum(c.commission_amount) FILTER (WHERE c.status = 'reversed'), 0)
                * 10000 AS HUGEINT) AS reversed_units,
           CAST(sum(c.commission_amount) * 10000 AS HUGEINT) AS decided_units
    FROM commissions AS c, as_of
    WHERE c.status IN ('approved', 'paid', 'reversed')
      AND c.event_date > as_of.day - 365 AND c.event_date <= as_of.day
    GROUP BY ALL
),
-- A threshold set by hand (source 'config') wins over one the network reported.
thresholds AS (
    SELECT network, account,
           arg_max(threshold, CASE source WHEN 'config' THEN 1 ELSE 0 END) AS threshold
    FROM payout_settings
    WHERE scheduling_type = 'BALANCE_THRESHOLD' AND threshold IS NOT NULL
    GROUP BY ALL
),
-- Amazon pays a month's earnings 60 days after the month's last day, if the unpaid balance
-- then reaches the account's threshold (default per marketplace currency:
-- affiliate-formats.md §10.4); otherwise the balance rolls to the next month's payment date.
amazon_months AS (
    SELECT l.account, l.currency, l.event_month AS month,
           CAST(sum(l.amount) AS DECIMAL(38, 4)) AS total,
           CAST(last_day(l.event_month) + 60 AS DATE) AS pay_on,
           CAST(coalesce(any_value(s.threshold), CASE l.currency
               WHEN 'USD' THEN 10 WHEN 'CAD' THEN 10 WHEN 'GBP' THEN 25 WHEN 'EUR' THEN 25
               WHEN 'JPY' THEN 5000 WHEN 'INR' THEN 1000 ELSE 0 END) AS DECIMAL(38, 4))
               AS threshold,
           row_number() OVER (PARTITION BY l.account, l.currency ORDER BY l.event_month) AS n
    FROM open_lines AS l
    LEFT JOIN thresholds AS s ON s.network = 'amazon' AND s.account = l.account
    WHERE l.network = 'amazon'
    GROUP BY l.account, l.currency, l.event_month
),
amazon_walk (account, currency, n, month, pay_on, threshold, balance) AS (
    SELECT account, currency, n, month, pay_on, threshold, total
    FROM amazon_months
    WHERE n = 1
    UNION ALL
    SELECT m.account, m.currency, m.n, m.month, m.pay_on, m.threshold,
           CAST(CASE WHEN w.balance >= w.threshold THEN m.total ELSE w.balance + m.total END
                AS DECIMAL(38, 4))
    FROM amazon_walk AS w
    JOIN amazon_months AS m
      ON m.account = w.account AND m.currency = w.currency AND m.n = w.n + 1
),
-- A month is paid on the first payment date, from its own on, whose balance reaches the
-- threshold (the balance starts again after each payment); none yet: NULL.
amazon_dates AS (
    SELECT account, currency, month,
           min(CASE WHEN balance >= threshold THEN pay_on END) OVER (
               PARTITION BY account, currency ORDER BY n
               ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
           ) AS expected_on
    FROM amazon_walk
),
awin_payments AS (
    SELECT account, payment_id, coalesce(paid_on, due_on, created_on) AS pay_on
    FROM payments
    WHERE network = 'awin'
),
impact_invoiced AS (
    SELECT i.account, i.program AS campaign_id, i.event_month, max(i.due_on) AS due_on
    FROM payment_items AS i
    WHERE i.network = 'impact' AND i.due_on IS NOT NULL
    GROUP BY ALL
),
impact_settings AS (
    SELECT account, any_value(payment_day) AS payment_day
    FROM payout_settings
    WHERE network = 'impact' AND source = 'api' AND scheduling_type = 'FIXED_DAY'
    GROUP BY ALL
),
scheduled AS (
    SELECT l.*,
        CASE
            WHEN l.network = 'amazon' THEN a.expected_on
            -- CJ locks on the 10th of M+1 (M+2 once extended) and pays on the 20th (§10.3).
            WHEN l.network = 'cj' THEN CAST(l.event_month
                + to_months(CASE WHEN l.extended THEN 2 ELSE 1 END) + INTERVAL 19 DAY AS DATE)
            WHEN l.network = 'awin' AND ap.pay_on IS NOT NULL THEN ap.pay_on
            -- Awin pays what was validated on the 1st-15th on the 1st of the next month, the
            -- 16th-31st on the 15th (§10.2); a pending line has no validation day yet.
            WHEN l.network = 'awin' AND l.status = 'approved' AND l.validated_on IS NOT NULL
                THEN CAST(date_trunc('month', l.validated_on) + INTERVAL 1 MONTH
                    + to_days(CASE WHEN day(l.validated_on) <= 15 THEN 0 ELSE 14 END) AS DATE)
            WHEN l.network = 'impact' AND ii.due_on IS NOT NULL THEN ii.due_on
            -- FIXED_DAY: the first PaymentDay after the line's LockingDate (§10.1).
            WHEN l.network = 'impact' AND st.payment_day IS NOT NULL
                AND l.locking_date IS NOT NULL THEN
                CASE WHEN make_date(year(l.locking_date), month(l.locking_date), st.payment_day)
                          > l.locking_date
                     THEN make_date(year(l.locking_date), month(l.locking_date), st.payment_day)
                     ELSE CAST(make_date(year(l.locking_date), month(l.locking_date),
                                         st.payment_day) + INTERVAL 1 MONTH AS DATE)
                END
        END AS expected_on,
        CASE
            WHEN l.network = 'amazon' THEN 'amazon schedule'
            WHEN l.network = 'cj' THEN 'cj schedule'
            WHEN l.network = 'awin' AND ap.pay_on IS NOT NULL THEN 'payment'
            WHEN l.network = 'awin' THEN 'awin schedule'
            WHEN l.network = 'impact' AND ii.due_on IS NOT NULL THEN 'invoice'
            WHEN l.network = 'impact' AND st.payment_day IS NOT NULL THEN 'impact schedule'
            WHEN l.network = 'impact' THEN 'threshold'
            ELSE 'unknown'
        END AS basis
    FROM open_lines AS l
    LEFT JOIN amazon_dates AS a
      ON l.network = 'amazon' AND a.account = l.account AND a.currency = l.currency
     AND a.month = l.event_month
    LEFT JOIN awin_payments AS ap
      ON l.network = 'awin' AND ap.account = l.account AND ap.payment_id = l.payment_id
    LEFT JOIN impact_invoiced AS ii
      ON l.network = 'impact' AND ii.account = l.account AND ii.campaign_id = l.campaign_id
     AND ii.event_month = l.event_month
    LEFT JOIN impact_settings AS st ON l.network = 'impact' AND st.account = l.account
)
SELECT s.network, s.account, s.line_id, s.currency, s.status, s.event_date, s.amount,
       CASE
           WHEN s.status <> 'pending' OR coalesce(r.decided_units, 0) <= 0
                OR coalesce(r.reversed_units, 0) = 0 THEN s.amount
           ELSE CAST(CAST(
               sign(CAST(s.amount * 10000 AS HUGEINT) * (r.decided_units - r.reversed_units))
               * ((abs(CAST(s.amount * 10000 AS HUGEINT) * (r.decided_units - r.reversed_units))
                   * 2 + r.decided_units) // (2 * r.decided_units))
               AS DECIMAL(38, 0)) / 10000 AS DECIMAL(18, 4))
       END AS likely_amount,
       s.expected_on, s.basis
FROM scheduled AS s
LEFT JOIN reversal AS r USING (network, account, currency);
