-- The ledger's tables (names are a contract: see DESIGN.md "The ledger contract").
-- `commissions` is unique on (network, account, line_id), kept so by the load SQL (ids are
-- de-duplicated or numbered in `incoming`, and only ids not yet in the ledger are inserted)
-- rather than by a PRIMARY KEY: DuckDB's index must sit in memory and doubled the time of a
-- million-line load (bench/).

CREATE TABLE commissions (
    network            VARCHAR NOT NULL,
    account            VARCHAR NOT NULL,
    line_id            VARCHAR NOT NULL,
    event_date         DATE NOT NULL,
    event_at           TIMESTAMPTZ,
    status             VARCHAR NOT NULL CHECK (status IN ('pending', 'approved', 'paid', 'reversed')),
    sale_amount        DECIMAL(18, 4) NOT NULL,
    commission_amount  DECIMAL(18, 4) NOT NULL,
    currency           VARCHAR NOT NULL CHECK (length(currency) = 3),
    quantity           INTEGER,
    program            VARCHAR,
    product_id         VARCHAR,
    product_name       VARCHAR,
    tracking_id        VARCHAR,
    first_run_id       VARCHAR NOT NULL,
    last_run_id        VARCHAR NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    order_id           VARCHAR,
    original_line_id   VARCHAR
);

CREATE TABLE ingest_runs (
    run_id          VARCHAR PRIMARY KEY,
    flow_run_id     VARCHAR,                -- the Prefect flow run, when one ran it
    source          VARCHAR NOT NULL,       -- 'file' or 'api'
    network         VARCHAR NOT NULL,
    account         VARCHAR,
    file_name       VARCHAR,
    content_hash    VARCHAR,
    window_start    DATE,
    window_end      DATE,
    status          VARCHAR NOT NULL,       -- running, completed, completed_with_rejects, skipped, failed
    records_read    BIGINT NOT NULL DEFAULT 0,
    lines_loaded    BIGINT NOT NULL DEFAULT 0,
    lines_rejected  BIGINT NOT NULL DEFAULT 0,
    lines_inserted  BIGINT NOT NULL DEFAULT 0,
    lines_changed   BIGINT NOT NULL DEFAULT 0,
    lines_removed   BIGINT NOT NULL DEFAULT 0,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    message         VARCHAR
);

CREATE TABLE source_files (
    content_hash   VARCHAR NOT NULL,
    network        VARCHAR NOT NULL,
    account        VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,
    report_type    VARCHAR NOT NULL,
    marketplace    VARCHAR,
    period_start   DATE NOT NULL,
    period_end     DATE NOT NULL,
    lines          BIGINT NOT NULL,
    run_id         VARCHAR NOT NULL,
    ingested_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (network, account, content_hash)
);

CREATE TABLE rejects (
    run_id       VARCHAR NOT NULL,
    network      VARCHAR NOT NULL,
    account      VARCHAR,
    locator      VARCHAR NOT NULL,          -- file:line for reports, "page P:I" for API records
    raw          VARCHAR NOT NULL,
    reasons      VARCHAR[] NOT NULL,
    rejected_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE commission_changes (
    run_id                 VARCHAR NOT NULL,
    network                VARCHAR NOT NULL,
    account                VARCHAR NOT NULL,
    line_id                VARCHAR NOT NULL,
    change                 VARCHAR NOT NULL CHECK (change IN ('inserted', 'changed', 'removed')),
    old_status             VARCHAR,
    new_status             VARCHAR,
    old_sale_amount        DECIMAL(18, 4),
    new_sale_amount        DECIMAL(18, 4),
    old_commission_amount  DECIMAL(18, 4),
    new_commission_amount  DECIMAL(18, 4),
    currency               VARCHAR NOT NULL,
    event_date             DATE NOT NULL,
    changed_at             TIMESTAMPTZ NOT NULL
);

CREATE TABLE ingest_state (
    network     VARCHAR NOT NULL,
    account     VARCHAR NOT NULL,
    stream      VARCHAR NOT NULL,
    cursor      TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (network, account, stream)
);
