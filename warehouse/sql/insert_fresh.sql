-- The ids of `fresh` are new to the ledger: record their insertion and insert them.
INSERT INTO commission_changes
SELECT $run_id, network, account, line_id, 'inserted',
       NULL, status, NULL, sale_amount, NULL, commission_amount,
       currency, event_date, $now
FROM fresh;

INSERT INTO commissions BY NAME
SELECT network, account, line_id, event_date, event_at, status, sale_amount, commission_amount,
       currency, quantity, program, product_id, product_name, tracking_id, order_id,
       original_line_id, $run_id AS first_run_id, $run_id AS last_run_id, $now AS updated_at
FROM fresh;
