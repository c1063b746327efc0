-- Money expected from the networks: the lines not yet paid nor reversed, per network,
-- account, currency, expected day, line status and basis (stable: add columns, never rename).
-- `expected_on` is NULL where the rule cannot date it (impact.com BALANCE_THRESHOLD, an Awin
-- line not validated yet, an Amazon balance still below its threshold).
CREATE OR REPLACE VIEW payouts_expected AS
SELECT network, account, currency, expected_on, status,
       count(*) AS lines,
       sum(amount) AS amount,
       sum(likely_amount) AS likely_amount,
       basis
FROM payout_lines
GROUP BY network, account, currency, expected_on, status, basis;
