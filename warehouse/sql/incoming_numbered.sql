-- Report lines carry no id and identical lines are separate sales (affiliate-formats.md 1.5):
-- the id is the content key plus the occurrence number of that content within the report.
-- Only keys that repeat need numbering by a window; every other line is occurrence 1.
-- (One window over the repeated lines of a 10M-line report ran out of a 128MB budget, so
-- incoming_repeats.sql numbers them in buckets; the aggregate and the joins here spill.)
CREATE OR REPLACE TEMP TABLE _repeated AS
SELECT line_id FROM _load_stage GROUP BY line_id HAVING count(*) > 1;

CREATE OR REPLACE TEMP TABLE incoming AS
SELECT * REPLACE (line_id || '-1' AS line_id)
FROM _load_stage ANTI JOIN _repeated USING (line_id);

CREATE OR REPLACE TEMP TABLE _repeats AS
SELECT * FROM _load_stage SEMI JOIN _repeated USING (line_id);

-- The stage is a full copy of the report: free it before the ledger is written.
DROP TABLE _load_stage;
DROP TABLE _repeated;
