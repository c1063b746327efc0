-- ECB euro reference rates (issue 14): one row per published fixing, EUR implied as 1.
-- No PRIMARY KEY: (day, currency) is kept unique by warehouse/sql/fx_upsert.sql, as the
-- commissions table is by its load SQL, so the schema also opens as a DuckLake ledger
-- (affiliate-formats.md section 12: no primary keys or unique constraints there).
CREATE TABLE fx_rates (
    day            DATE NOT NULL,
    currency       VARCHAR NOT NULL CHECK (length(currency) = 3),
    per_eur        DECIMAL(18, 6) NOT NULL CHECK (per_eur > 0),
    source         VARCHAR NOT NULL,        -- the file or URL the fixing was read from
    loaded_run_id  VARCHAR NOT NULL         -- ingest_runs.run_id of the load that wrote it
);

-- A fixing the ECB re-published with another value: what it was, what it became, and when.
CREATE TABLE fx_rate_changes (
    run_id        VARCHAR NOT NULL,
    day           DATE NOT NULL,
    currency      VARCHAR NOT NULL,
    old_per_eur   DECIMAL(18, 6) NOT NULL,
    new_per_eur   DECIMAL(18, 6) NOT NULL,
    old_source    VARCHAR NOT NULL,
    new_source    VARCHAR NOT NULL,
    changed_at    TIMESTAMPTZ NOT NULL
);
