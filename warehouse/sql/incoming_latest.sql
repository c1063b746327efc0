-- API records change in place under one id; a pull can see an id twice (Awin's two date
-- passes), so the last one read wins.
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT *
FROM _load_stage
QUALIFY row_number() OVER (PARTITION BY network, account, line_id ORDER BY source_line DESC) = 1;

DROP VIEW _load_stage;
DROP TABLE _load_rows;
