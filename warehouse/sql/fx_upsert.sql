-- Load one rates file's fixings (the registered Arrow table `fx_batch`: day, currency,
-- per_eur) into fx_rates: new fixings are inserted, a re-published fixing with another value
-- is updated and recorded in fx_rate_changes, an unchanged one is left as it is (so loading
-- the same file again changes nothing). Run inside the caller's transaction.
CREATE OR REPLACE TEMP TABLE fx_incoming AS
SELECT day, currency, per_eur FROM fx_batch;
CREATE OR REPLACE TEMP TABLE fx_counts AS
SELECT
    count(*) FILTER (WHERE r.day IS NULL) AS inserted,
    count(*) FILTER (WHERE r.per_eur <> i.per_eur) AS changed
FROM fx_incoming AS i
LEFT JOIN fx_rates AS r ON r.day = i.day AND r.currency = i.currency;
INSERT INTO fx_rate_changes
SELECT $run_id, i.day, i.currency, r.per_eur, i.per_eur, r.source, $source, $now
FROM fx_incoming AS i
JOIN fx_rates AS r ON r.day = i.day AND r.currency = i.currency
WHERE r.per_eur <> i.per_eur;
UPDATE fx_rates AS r
SET per_eur = i.per_eur, source = $source, loaded_run_id = $run_id
FROM fx_incoming AS i
WHERE r.day = i.day AND r.currency = i.currency AND r.per_eur <> i.per_eur;
INSERT INTO fx_rates
SELECT i.day, i.currency, i.per_eur, $source, $run_id
FROM fx_incoming AS i
ANTI JOIN fx_rates AS r ON r.day = i.day AND r.currency = i.currency
ORDER BY i.day, i.currency;
