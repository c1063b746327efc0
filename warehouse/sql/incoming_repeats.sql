-- The rows of a stage whose content key repeats, when every row of it is one report line
-- (copies 1: the scan read line by line, or the Python reader's rows): the occurrence of each
-- row's content, counted in the order of `source_line` (any order would do: lines that share
-- a key share every ledger value). Only the repeated rows go through the window, and only
-- their key and line: a few percent of a real report's lines, none of an all-distinct one.
-- `_load_repeated_keys`: the ids more than one row holds (load.py _lines_and_keys).
CREATE OR REPLACE TEMP TABLE _load_repeats AS
SELECT line_id, source_line,
       row_number() OVER (PARTITION BY line_id ORDER BY source_line) AS occurrence
FROM _load_stage
WHERE line_id IN (SELECT line_id FROM _load_repeated_keys);
