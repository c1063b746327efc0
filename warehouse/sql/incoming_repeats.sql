-- The repeated lines of bucket $bucket of $buckets (by a hash of the key), numbered in file
-- order. Lines that share a key share every ledger value (the key is a digest of all of
-- them), so only the count of each key matters, and a bucket holds all lines of its keys.
INSERT INTO incoming
SELECT * REPLACE (
    line_id || '-' || row_number() OVER (PARTITION BY line_id ORDER BY source_line) AS line_id
)
FROM _repeats
WHERE $buckets = 1 OR hash(line_id) % $buckets = $bucket;
