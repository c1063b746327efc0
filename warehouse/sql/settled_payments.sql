-- Paid payments whose items the ledger holds: their parts need not be read again.
SELECT p.payment_id
FROM payments AS p
WHERE p.network = $network AND p.account = $account AND p.status = 'paid'
  AND EXISTS (
      SELECT 1 FROM payment_items AS i
      WHERE i.network = p.network AND i.account = p.account AND i.payment_id = p.payment_id
  );
