-- Approved lines whose expected payment day is more than 30 days past and that are not paid
-- (stable: add columns, never rename). "Today" as in payout_lines.
CREATE OR REPLACE VIEW unpaid_overdue AS
SELECT l.network, l.account, l.line_id, l.currency, l.event_date, l.amount, l.expected_on,
       CAST(as_of.day - l.expected_on AS INTEGER) AS days_overdue, l.basis
FROM payout_lines AS l,
     (SELECT coalesce(TRY_CAST(getvariable('passive_as_of') AS DATE), current_date) AS day)
         AS as_of
WHERE l.status = 'approved'
  AND l.expected_on IS NOT NULL
  AND l.expected_on < as_of.day - 30;
