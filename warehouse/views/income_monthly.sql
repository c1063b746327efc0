-- Income per month (its first day), network, account and currency, one column per kind, so
-- nobody needs a PIVOT (stable: add columns, never rename). earned = approved + paid;
-- net = earned + pending. A reversed line keeps the amount that was reversed on every network
-- (README "Reversed lines"): `reversed` is what was taken back and is never part of `net`.
-- Signed corrections (Amazon returns, CJ restatements) carry their own status and sign, so
-- they net out inside `earned` and `pending`. `lines` counts every line, reversed ones too.
-- Two steps, as in warehouse/sql/tally.sql: group by status first, then pivot the few rows.
CREATE OR REPLACE VIEW income_monthly AS
WITH per_status AS (
    SELECT
        CAST(date_trunc('month', event_date) AS DATE) AS month,
        network,
        account,
        currency,
        status,
        sum(commission_amount) AS commission,
        count(*) AS lines
    FROM commissions
    GROUP BY ALL
)
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
FROM per_status
GROUP BY ALL;
