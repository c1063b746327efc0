-- Scratch tables for one load, written batch by batch OUTSIDE the ledger's transaction: an
-- open transaction keeps its uncommitted appends in memory (bench/: ~28 MB per 50k lines),
-- while the committed rows of a temp table spill to `<ledger>.tmp` under the load's memory
-- budget, so memory stays flat whatever the file's size (and, unlike a table in the ledger
-- file, a temp table is not compressed: staging a million lines took a third less CPU).
-- The ledger itself only changes in the load's one transaction, which also drops these.
-- (One writer at a time holds the file, so fixed names cannot collide; leftovers of a
-- crashed load are replaced here.)
CREATE OR REPLACE TEMP TABLE _load_rows (
    network            VARCHAR,
    account            VARCHAR,
    line_id            VARCHAR,
    event_date         DATE,
    event_at           TIMESTAMPTZ,
    status             VARCHAR,
    sale_amount        DECIMAL(18, 4),
    commission_amount  DECIMAL(18, 4),
    currency           VARCHAR,
    quantity           INTEGER,
    program            VARCHAR,
    product_id         VARCHAR,
    product_name       VARCHAR,
    tracking_id        VARCHAR,
    order_id           VARCHAR,
    original_line_id   VARCHAR,
    source_line        BIGINT,
    -- how many identical lines the row stands for (the DuckDB reader counts repeats)
    copies             BIGINT DEFAULT 1
);

-- What the load numbers: the rows read in Python, and whatever else a reader stages by
-- replacing this view (warehouse/amazon_scan.py adds the lines DuckDB read, without a copy).
CREATE OR REPLACE TEMP VIEW _load_stage AS FROM _load_rows;

CREATE OR REPLACE TEMP TABLE _load_rejects AS SELECT * FROM rejects LIMIT 0;
