-- One payout setting per network, account and source: replaced only when it differs.
UPDATE payout_settings
SET scheduling_type = $scheduling_type, payment_day = $payment_day, threshold = $threshold,
    currency = $currency, run_id = $run_id, updated_at = $now
WHERE network = $network AND account = $account AND source = $source
  AND (scheduling_type IS DISTINCT FROM $scheduling_type
       OR payment_day IS DISTINCT FROM $payment_day
       OR threshold IS DISTINCT FROM $threshold
       OR currency IS DISTINCT FROM $currency);

INSERT INTO payout_settings
SELECT $network, $account, $scheduling_type, $payment_day, $threshold, $currency, $source,
       $run_id, $now
WHERE NOT EXISTS (
    SELECT 1 FROM payout_settings
    WHERE network = $network AND account = $account AND source = $source
);
