-- Report lines carry no id and identical lines are separate sales (affiliate-formats.md 1.5):
-- the id is the content key plus the occurrence number of that content within the report.
-- `_load_groups` holds each key once with its number of `copies` (load.py checks that), so
-- numbering is an unnest: no window over every line, and no copy of them (a view).
-- One query, not a branch for the lines whose content comes once UNION ALL one for the rest:
-- two branches leave each thread two part-filled row groups of `commission_lines`, which the
-- checkpoint at close then merged and compressed again (bench/, 1M repeating lines: ~1.4 s
-- of CPU in about half the runs; 7% more CPU than this in interleaved pairs). A report whose
-- every content comes once takes incoming_once.sql.
CREATE OR REPLACE TEMP VIEW incoming AS
SELECT * EXCLUDE (copies, occurrence) REPLACE (line_id || '-' || occurrence AS line_id)
FROM (SELECT *, unnest(range(1, copies + 1)) AS occurrence FROM _load_groups);
