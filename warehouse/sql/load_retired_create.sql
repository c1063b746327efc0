-- The ledger lines a load replaces (old versions of changed ids, lines a report dropped),
-- made anew by every attempt of the load's append (a retried one starts from nothing).
CREATE OR REPLACE TEMP TABLE _load_retired (network VARCHAR, account VARCHAR, line_id VARCHAR);
