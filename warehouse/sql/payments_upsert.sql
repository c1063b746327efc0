-- Apply `_pay_in` (one pull's payments, in read order `seq`) to `payments`: a payment whose
-- values moved is updated in place and the change recorded in `payment_changes`; a new one is
-- inserted and recorded; an unchanged one is not touched (a re-run changes nothing).
CREATE OR REPLACE TEMP TABLE _pay_latest AS
SELECT *
FROM _pay_in
QUALIFY row_number() OVER (PARTITION BY network, account, payment_id ORDER BY seq DESC) = 1;

CREATE OR REPLACE TEMP TABLE _pay_moved AS
SELECT i.*, p.status AS old_status, p.amount AS old_amount, p.due_on AS old_due_on,
       p.paid_on AS old_paid_on
FROM _pay_latest AS i
JOIN payments AS p USING (network, account, payment_id)
WHERE p.currency IS DISTINCT FROM i.currency
   OR p.amount IS DISTINCT FROM i.amount
   OR p.status IS DISTINCT FROM i.status
   OR p.created_on IS DISTINCT FROM i.created_on
   OR p.due_on IS DISTINCT FROM i.due_on
   OR p.paid_on IS DISTINCT FROM i.paid_on;

INSERT INTO payment_changes
SELECT $run_id, network, account, payment_id, 'changed', old_status, status, old_amount, amount,
       currency, old_due_on, due_on, old_paid_on, paid_on, $now
FROM _pay_moved;

UPDATE payments AS p
SET currency = m.currency, amount = m.amount, status = m.status, created_on = m.created_on,
    due_on = m.due_on, paid_on = m.paid_on, last_run_id = $run_id, updated_at = $now
FROM _pay_moved AS m
WHERE p.network = m.network AND p.account = m.account AND p.payment_id = m.payment_id;

CREATE OR REPLACE TEMP TABLE _pay_fresh AS
SELECT i.*
FROM _pay_latest AS i
WHERE NOT EXISTS (
    SELECT 1 FROM payments AS p
    WHERE p.network = i.network AND p.account = i.account AND p.payment_id = i.payment_id
);

INSERT INTO payment_changes
SELECT $run_id, network, account, payment_id, 'inserted', NULL, status, NULL, amount,
       currency, NULL, due_on, NULL, paid_on, $now
FROM _pay_fresh;

INSERT INTO payments BY NAME
SELECT network, account, payment_id, currency, amount, status, created_on, due_on, paid_on,
       'api' AS source, $run_id AS first_run_id, $run_id AS last_run_id, $now AS updated_at
FROM _pay_fresh;
