-- Report lines carry no id and identical lines are separate sales (affiliate-formats.md 1.5):
-- the id is the content key plus the occurrence number of that content within the report.
-- Lines that share a key share every ledger value (the key is a digest of all of them), so
-- the order among them cannot change the ledger.
-- A big report is numbered in passes over buckets of keys ($bucket of $buckets, by hash): a
-- window over all lines of a 10M-line report ran out of a 128MB budget (bench/).
INSERT INTO incoming
SELECT * REPLACE (
    line_id || '-' || row_number() OVER (PARTITION BY line_id ORDER BY source_line) AS line_id
)
FROM _load_stage
WHERE $buckets = 1 OR hash(line_id) % $buckets = $bucket;
