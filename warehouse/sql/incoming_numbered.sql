-- Report lines carry no id and identical lines are separate sales (affiliate-formats.md 1.5):
-- the id is the content key plus the occurrence number of that content within the report.
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT * REPLACE (
    line_id || '-' || row_number() OVER (PARTITION BY line_id ORDER BY source_line) AS line_id
)
FROM stage;

-- The stage is a full copy of the report: free it before the ledger is written.
DROP TABLE stage;
