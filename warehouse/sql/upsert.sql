-- Apply `incoming` to the ledger: ids whose values moved are updated (insert_fresh.sql then
-- adds the new ids); unchanged lines are not touched at all (so a re-run leaves the ledger
-- byte-for-byte equal).
CREATE OR REPLACE TEMP TABLE moved AS
SELECT i.*, c.status AS old_status, c.sale_amount AS old_sale_amount,
       c.commission_amount AS old_commission_amount
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

INSERT INTO commission_changes
SELECT $run_id, network, account, line_id, 'changed',
       old_status, status, old_sale_amount, sale_amount, old_commission_amount, commission_amount,
       currency, event_date, $now
FROM moved;

UPDATE commissions AS c
SET event_date = m.event_date, event_at = m.event_at, status = m.status,
    sale_amount = m.sale_amount, commission_amount = m.commission_amount, currency = m.currency,
    quantity = m.quantity, program = m.program, product_id = m.product_id,
    product_name = m.product_name, tracking_id = m.tracking_id, order_id = m.order_id,
    original_line_id = m.original_line_id, last_run_id = $run_id, updated_at = $now
FROM moved AS m
WHERE c.network = m.network AND c.account = m.account AND c.line_id = m.line_id;
