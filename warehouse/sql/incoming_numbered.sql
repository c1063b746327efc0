-- Report lines carry no id and identical lines are separate sales (affiliate-formats.md 1.5):
-- the id is the content key plus the occurrence number of that content within the report.
-- `_load_groups` holds each key once with its number of `copies` (load.py checks that), so
-- numbering is an unnest: no window over every line, and no copy of them (a view).
CREATE OR REPLACE TEMP VIEW incoming AS
SELECT * EXCLUDE (copies, occurrence) REPLACE (line_id || '-' || occurrence AS line_id)
FROM (SELECT *, unnest(range(1, copies + 1)) AS occurrence FROM _load_groups);
