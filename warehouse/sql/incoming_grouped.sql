-- A report's lines that share a content key, gathered into one row with how many `copies`
-- there are (incoming_numbered.sql then numbers them). Lines that share a key share every
-- ledger value (the key is a digest of all of them), so grouping by every column keeps one
-- row per key. A big report is grouped in passes over buckets of keys ($bucket of $buckets,
-- by hash), each of which fits the load's memory budget (bench/).
INSERT INTO _load_groups
SELECT * EXCLUDE (source_line, copies), min(source_line) AS source_line, sum(copies) AS copies
FROM _load_stage
WHERE $buckets = 1 OR hash(line_id) % $buckets = $bucket
GROUP BY ALL;
