-- Apply `_terms_in` (one pull's payout facts, in read order `seq`) to `commission_terms` for
-- $network/$account: the last read of each line wins; only lines the ledger holds get terms
-- (a rejected record has none); unchanged rows are not touched (a re-run changes nothing).
-- `extended` is sticky: once CJ showed a line extended, its lock stays a month later.
CREATE OR REPLACE TEMP TABLE _terms_latest AS
SELECT *
FROM _terms_in
QUALIFY row_number() OVER (PARTITION BY line_id ORDER BY seq DESC) = 1;

UPDATE commission_terms AS t
SET campaign_id = i.campaign_id, locking_date = i.locking_date, validated_on = i.validated_on,
    payment_id = i.payment_id, extended = t.extended OR i.extended,
    network_status = i.network_status, last_run_id = $run_id, updated_at = $now
FROM _terms_latest AS i
WHERE t.network = $network AND t.account = $account AND t.line_id = i.line_id
  AND (t.campaign_id IS DISTINCT FROM i.campaign_id
       OR t.locking_date IS DISTINCT FROM i.locking_date
       OR t.validated_on IS DISTINCT FROM i.validated_on
       OR t.payment_id IS DISTINCT FROM i.payment_id
       OR (i.extended AND NOT t.extended)
       OR t.network_status IS DISTINCT FROM i.network_status);

INSERT INTO commission_terms BY NAME
SELECT $network AS network, $account AS account, i.line_id, i.campaign_id, i.locking_date,
       i.validated_on, i.payment_id, i.extended, i.network_status,
       $run_id AS first_run_id, $run_id AS last_run_id, $now AS updated_at
FROM _terms_latest AS i
WHERE EXISTS (
    SELECT 1 FROM commissions AS c
    WHERE c.network = $network AND c.account = $account AND c.line_id = i.line_id
)
AND NOT EXISTS (
    SELECT 1 FROM commission_terms AS t
    WHERE t.network = $network AND t.account = $account AND t.line_id = i.line_id
);

DROP TABLE _terms_latest;
