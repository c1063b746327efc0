-- A report is the whole truth for its account and period: lines of that slice it no longer
-- carries are removed (a restated report replaces the earlier one).
INSERT INTO commission_changes
SELECT $run_id, c.network, c.account, c.line_id, 'removed',
       c.status, NULL, c.sale_amount, NULL, c.commission_amount, NULL,
       c.currency, c.event_date, $now
FROM commissions AS c
WHERE c.network = $network AND c.account = $account
  AND c.event_date BETWEEN $period_start AND $period_end
  AND NOT EXISTS (SELECT 1 FROM incoming AS i WHERE i.line_id = c.line_id);

DELETE FROM commissions AS c
WHERE c.network = $network AND c.account = $account
  AND c.event_date BETWEEN $period_start AND $period_end
  AND NOT EXISTS (SELECT 1 FROM incoming AS i WHERE i.line_id = c.line_id);
