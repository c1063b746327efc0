-- Apply `incoming` to the ledger: ids whose values moved get a new version of their line
-- (load_publish.sql retires the old one), then insert_fresh.sql adds the new ids; unchanged
-- lines are not touched at all (so a re-run leaves the ledger byte-for-byte equal).
CREATE OR REPLACE TEMP TABLE moved AS
SELECT i.*, c.status AS old_status, c.sale_amount AS old_sale_amount,
       c.commission_amount AS old_commission_amount, c.first_run_id AS old_first_run_id
FROM incoming AS i
JOIN commissions AS c USING (network, account, line_id)
WHERE c.event_date IS DISTINCT FROM i.event_date
   OR c.event_at IS DISTINCT FROM i.event_at
   OR c.status IS DISTINCT FROM i.status
   OR c.sale_amount IS DISTINCT FROM i.sale_amount
   OR c.commission_amount IS DISTINCT FROM i.commission_amount
   OR c.currency IS DISTINCT FROM i.currency
   OR c.quantity IS DISTINCT FROM i.quantity
   OR c.program IS DISTINCT FROM i.program
   OR c.product_id IS DISTINCT FROM i.product_id
   OR c.product_name IS DISTINCT FROM i.product_name
   OR c.tracking_id IS DISTINCT FROM i.tracking_id
   OR c.order_id IS DISTINCT FROM i.order_id
   OR c.original_line_id IS DISTINCT FROM i.original_line_id;

CREATE OR REPLACE TEMP TABLE fresh AS
SELECT i.*
FROM incoming AS i
WHERE NOT EXISTS (
    SELECT 1 FROM commissions AS c
    WHERE c.network = i.network AND c.account = i.account AND c.line_id = i.line_id
);

INSERT INTO commission_change_rows
SELECT $run_id, network, account, line_id, 'changed',
       old_status, status, old_sale_amount, sale_amount, old_commission_amount, commission_amount,
       currency, event_date, $now, $load_seq
FROM moved;

INSERT INTO commission_lines BY NAME
SELECT network, account, line_id, event_date, event_at, status, sale_amount, commission_amount,
       currency, quantity, program, product_id, product_name, tracking_id, order_id,
       original_line_id, old_first_run_id AS first_run_id, $run_id AS last_run_id,
       $now AS updated_at, $load_seq AS load_seq
FROM moved;

INSERT INTO _load_retired SELECT network, account, line_id FROM moved;
