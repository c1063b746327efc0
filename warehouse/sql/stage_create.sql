-- Session-local staging for one load: the ledger columns plus where each line came from.
CREATE OR REPLACE TEMP TABLE stage (
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
    source_line        BIGINT
);
