-- Several writers at once on a DuckLake ledger (issue 16; warehouse/lake.py). A file ledger
-- has one writer at a time and gets the same columns, unused by it but harmless.
--
-- Each load names its account: a load that finds another load of the same account published
-- while it was appending is redone (warehouse/sql/account_loads.sql).
ALTER TABLE ledger_loads ADD COLUMN network VARCHAR;
ALTER TABLE ledger_loads ADD COLUMN account VARCHAR;

-- Which process wrote a run: on a DuckLake, recovery may only sweep the runs and loads of a
-- writer that is gone (same host: its pid no longer runs that process), never a live one.
CREATE TABLE ledger_writers (
    run_id           VARCHAR NOT NULL,
    host             VARCHAR NOT NULL,
    pid              BIGINT NOT NULL,
    process_started  VARCHAR,              -- the process's start time (Linux: /proc/PID/stat)
    seen_at          TIMESTAMPTZ NOT NULL
);
