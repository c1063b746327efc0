-- Report lines carry no id and identical lines are separate sales (affiliate-formats.md 1.5):
-- the id is the content key plus the occurrence number of that content within the report.
-- `_load_groups` holds each key once with its number of `copies` (load.py checks that), so
-- numbering is an unnest: no window over every line, and no copy of them (a view). A line
-- whose content comes once (nearly all of a real report's) is just `-1`: making and
-- unnesting a one-item list per line cost more than reading the groups twice (bench/).
CREATE OR REPLACE TEMP VIEW incoming AS
SELECT * EXCLUDE (copies) REPLACE (line_id || '-1' AS line_id)
FROM _load_groups
WHERE copies = 1
UNION ALL
SELECT * EXCLUDE (copies, occurrence) REPLACE (line_id || '-' || occurrence AS line_id)
FROM (SELECT *, unnest(range(1, copies + 1)) AS occurrence FROM _load_groups WHERE copies > 1);
