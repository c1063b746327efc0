-- incoming_numbered.sql for a stage of one row per line whose few repeated keys
-- incoming_repeats.sql numbered: every other line is the first of its content (`-1`). One
-- query, no branch per kind of line (see incoming_numbered.sql for why). The join is on the
-- key and the row's own `source_line`, which load.py has checked are unique among the repeats.
CREATE OR REPLACE TEMP VIEW incoming AS
SELECT s.* EXCLUDE (copies) REPLACE (s.line_id || '-' || coalesce(r.occurrence, 1) AS line_id)
FROM _load_stage AS s
LEFT JOIN (SELECT line_id, source_line, occurrence FROM _load_repeats) AS r
    ON s.line_id = r.line_id AND s.source_line = r.source_line;
