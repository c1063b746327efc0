-- The event months whose paid lines and payments disagree.
SELECT network, account, currency, month, ledger_paid, payments, difference
FROM payments_reconciliation
WHERE difference <> 0
ORDER BY ALL;
