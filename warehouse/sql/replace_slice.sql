-- A report is the whole truth for its account and period: lines of that slice it no longer
-- carries are removed (a restated report replaces the earlier one). Here they are recorded as
-- removed and listed in `_load_retired`; load_publish.sql deletes them when the load publishes.
CREATE OR REPLACE TEMP TABLE _load_removed AS
SELECT c.network, c.account, c.line_id, c.status, c.sale_amount, c.commission_amount,
       c.currency, c.event_date
FROM commissions AS c
WHERE c.network = $network AND c.account = $account
  AND c.event_date BETWEEN $period_start AND $period_end
  AND NOT EXISTS (SELECT 1 FROM incoming AS i WHERE i.line_id = c.line_id);

INSERT INTO commission_change_rows
SELECT $run_id, network, account, line_id, 'removed',
       status, NULL, sale_amount, NULL, commission_amount, NULL,
       currency, event_date, $now, $load_seq
FROM _load_removed;

INSERT INTO _load_retired SELECT network, account, line_id FROM _load_removed;

DROP TABLE _load_removed;
