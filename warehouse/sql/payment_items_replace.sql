-- Replace the items of the payments in `_items_for` (those whose parts this pull read in
-- full) by `_items_in`, but only for a payment whose items differ: a re-run changes nothing.
CREATE OR REPLACE TEMP TABLE _items_old AS
SELECT network, account, payment_id, item, program, event_month, lines, amount, description,
       status, due_on, paid_on
FROM payment_items
WHERE (network, account, payment_id) IN (SELECT network, account, payment_id FROM _items_for);

CREATE OR REPLACE TEMP TABLE _items_changed AS
SELECT DISTINCT network, account, payment_id
FROM (
    (SELECT * FROM _items_old EXCEPT SELECT * FROM _items_in)
    UNION ALL
    (SELECT * FROM _items_in EXCEPT SELECT * FROM _items_old)
);

DELETE FROM payment_items
WHERE (network, account, payment_id) IN (SELECT network, account, payment_id FROM _items_changed);

INSERT INTO payment_items BY NAME
SELECT *
FROM _items_in
WHERE (network, account, payment_id) IN (SELECT network, account, payment_id FROM _items_changed);

SELECT count(*) FROM _items_changed;
