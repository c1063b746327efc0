-- Payments as the networks report them, newest first.
SELECT network, account, payment_id, currency, amount, status, due_on, paid_on
FROM payments
ORDER BY coalesce(paid_on, due_on, created_on) DESC NULLS LAST, network, payment_id;
