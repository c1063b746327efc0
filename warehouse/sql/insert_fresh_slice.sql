-- A report for a period the ledger holds no lines of (the usual case: a new month): every
-- incoming line is new, so `fresh` is `incoming` itself: no anti-join and no copy.
-- The key holds the ship date, so a line of this slice cannot already sit outside it.
CREATE OR REPLACE TEMP VIEW fresh AS SELECT * FROM incoming;

CREATE OR REPLACE TEMP TABLE moved AS SELECT * FROM incoming LIMIT 0;

-- The lines first, then their `inserted` change rows read back from what was just appended
-- (every line of this load_seq is fresh here): `incoming` is a view over the scan's numbered
-- lines, and reading it twice cost more than reading the appended columns (bench/).
INSERT INTO commission_lines BY NAME
SELECT network, account, line_id, event_date, event_at, status, sale_amount, commission_amount,
       currency, quantity, program, product_id, product_name, tracking_id, order_id,
       original_line_id, $run_id AS first_run_id, $run_id AS last_run_id, $now AS updated_at,
       $load_seq AS load_seq
FROM incoming;

INSERT INTO commission_change_rows
SELECT $run_id, network, account, line_id, 'inserted',
       NULL, status, NULL, sale_amount, NULL, commission_amount,
       currency, event_date, $now, $load_seq
FROM commission_lines
WHERE load_seq = $load_seq;
