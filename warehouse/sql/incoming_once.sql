-- incoming_numbered.sql for a report whose every content comes once (load.py checks that no
-- group has more than one copy; the bench's all-distinct report): each id is the key plus
-- `-1`, with no one-item list made and unnested per line.
CREATE OR REPLACE TEMP VIEW incoming AS
SELECT * EXCLUDE (copies) REPLACE (line_id || '-1' AS line_id)
FROM _load_groups;
