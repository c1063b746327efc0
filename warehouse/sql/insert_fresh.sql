-- The ids of `fresh` are new to the ledger: record their insertion and append them, tagged with
-- the load (invisible until warehouse/publish.py publishes it).
INSERT INTO commission_change_rows
SELECT $run_id, network, account, line_id, 'inserted',
       NULL, status, NULL, sale_amount, NULL, commission_amount,
       currency, event_date, $now, $load_seq
FROM fresh;

INSERT INTO commission_lines BY NAME
SELECT network, account, line_id, event_date, event_at, status, sale_amount, commission_amount,
       currency, quantity, program, product_id, product_name, tracking_id, order_id,
       original_line_id, $run_id AS first_run_id, $run_id AS last_run_id, $now AS updated_at,
       $load_seq AS load_seq
FROM fresh;
