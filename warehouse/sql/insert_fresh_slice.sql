-- A report for a period the ledger holds no lines of (the usual case: a new month): every
-- incoming line is new, so it goes straight in, with no anti-join and no copy of `incoming`.
-- The key holds the ship date, so a line of this slice cannot already sit outside it.
CREATE OR REPLACE TEMP VIEW fresh AS SELECT * FROM incoming;

CREATE OR REPLACE TEMP TABLE moved AS SELECT * FROM incoming LIMIT 0;

INSERT INTO commission_changes
SELECT $run_id, network, account, line_id, 'inserted',
       NULL, status, NULL, sale_amount, NULL, commission_amount,
       currency, event_date, $now
FROM incoming;

INSERT INTO commissions BY NAME
SELECT network, account, line_id, event_date, event_at, status, sale_amount, commission_amount,
       currency, quantity, program, product_id, product_name, tracking_id, order_id,
       original_line_id, $run_id AS first_run_id, $run_id AS last_run_id, $now AS updated_at
FROM incoming;
