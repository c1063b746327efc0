-- Report lines carry no id and identical lines are separate sales (affiliate-formats.md 1.5):
-- the id is the content key plus the occurrence number of that content within the report.
-- Only keys that repeat need a window over their rows; every other line is occurrence 1.
-- (One window over all lines needs its partitions in memory and ran out of a 128MB budget at
-- 10M lines; the aggregate and the joins here spill to disk.)
CREATE OR REPLACE TEMP TABLE incoming AS
WITH repeated AS (
    SELECT line_id FROM _load_stage GROUP BY line_id HAVING count(*) > 1
)
SELECT * REPLACE (line_id || '-1' AS line_id)
FROM _load_stage ANTI JOIN repeated USING (line_id)
UNION ALL
SELECT * REPLACE (
    line_id || '-' || row_number() OVER (PARTITION BY line_id ORDER BY source_line) AS line_id
)
FROM _load_stage SEMI JOIN repeated USING (line_id);

-- The stage is a full copy of the report: free it before the ledger is written.
DROP TABLE _load_stage;
