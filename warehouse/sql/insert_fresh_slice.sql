-- A report for a period the ledger holds no lines of (the usual case: a new month): every
-- incoming line is new, so `fresh` is `incoming` itself: no anti-join and no copy (then
-- insert_fresh.sql).
-- The key holds the ship date, so a line of this slice cannot already sit outside it.
CREATE OR REPLACE TEMP VIEW fresh AS SELECT * FROM incoming;

CREATE OR REPLACE TEMP TABLE moved AS SELECT * FROM incoming LIMIT 0;
