-- Payments from the networks, what each ledger line needs for its payout date, and the
-- payout settings (issue 15; names are a contract: see DESIGN.md). Like `commissions`, the
-- tables are kept unique by the load SQL (warehouse/sql/payments_*.sql), not by a key, so the
-- same schema opens as a DuckLake ledger (no primary keys there: affiliate-formats.md §12).

-- One row per payment or invoice the network reports (impact.com Invoices, Awin payments).
-- `status`: scheduled (not yet paid), paid, or overdue (past due and unpaid, as reported).
CREATE TABLE payments (
    network       VARCHAR NOT NULL,
    account       VARCHAR NOT NULL,
    payment_id    VARCHAR NOT NULL,
    currency      VARCHAR NOT NULL CHECK (length(currency) = 3),
    amount        DECIMAL(18, 4) NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('scheduled', 'paid', 'overdue')),
    created_on    DATE,
    due_on        DATE,
    paid_on       DATE,
    source        VARCHAR NOT NULL DEFAULT 'api',
    first_run_id  VARCHAR NOT NULL,
    last_run_id   VARCHAR NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- What a payment is made of: impact.com invoice line items (per campaign and event month,
-- each with its own status and dates) and Awin breakdowns (net per advertiser, no month).
-- `item` numbers the parts within their payment in the order the network lists them.
CREATE TABLE payment_items (
    network      VARCHAR NOT NULL,
    account      VARCHAR NOT NULL,
    payment_id   VARCHAR NOT NULL,
    item         INTEGER NOT NULL,
    program      VARCHAR,               -- impact CampaignId, Awin advertiserId
    event_month  DATE,                  -- first day of impact's EventMonthYear; NULL for Awin
    lines        BIGINT,                -- impact `Actions`
    amount       DECIMAL(18, 4) NOT NULL,
    description  VARCHAR,               -- impact MEDIA_PAYOUT / BONUS, Awin advertiser name
    status       VARCHAR CHECK (status IN ('scheduled', 'paid', 'overdue')),
    due_on       DATE,
    paid_on      DATE
);

-- What each pull inserted or changed in `payments` (shaped like commission_changes).
CREATE TABLE payment_changes (
    run_id       VARCHAR NOT NULL,
    network      VARCHAR NOT NULL,
    account      VARCHAR NOT NULL,
    payment_id   VARCHAR NOT NULL,
    change       VARCHAR NOT NULL CHECK (change IN ('inserted', 'changed', 'removed')),
    old_status   VARCHAR,
    new_status   VARCHAR,
    old_amount   DECIMAL(18, 4),
    new_amount   DECIMAL(18, 4),
    currency     VARCHAR NOT NULL,
    old_due_on   DATE,
    new_due_on   DATE,
    old_paid_on  DATE,
    new_paid_on  DATE,
    changed_at   TIMESTAMPTZ NOT NULL
);

-- How an account is paid: impact.com WithdrawalSettings (BALANCE_THRESHOLD with a threshold,
-- or FIXED_DAY with payment_day 1 or 15), or a payment threshold set by the user (source
-- 'config', e.g. an Amazon account's threshold when it is not its marketplace's default).
CREATE TABLE payout_settings (
    network          VARCHAR NOT NULL,
    account          VARCHAR NOT NULL,
    scheduling_type  VARCHAR NOT NULL CHECK (scheduling_type IN ('BALANCE_THRESHOLD', 'FIXED_DAY')),
    payment_day      INTEGER,
    threshold        DECIMAL(18, 4),
    currency         VARCHAR,
    source           VARCHAR NOT NULL,   -- 'api' or 'config'
    run_id           VARCHAR,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- The facts of a ledger line that decide when it is paid and that `commissions` does not
-- hold: impact.com CampaignId and LockingDate, Awin validationDate and paymentId, and whether
-- a CJ line's status was ever `extended` (sticky: CJ shows only the current status, and an
-- extension moves the lock a month on for good: affiliate-formats.md §10.3).
CREATE TABLE commission_terms (
    network         VARCHAR NOT NULL,
    account         VARCHAR NOT NULL,
    line_id         VARCHAR NOT NULL,
    campaign_id     VARCHAR,
    locking_date    DATE,
    validated_on    DATE,
    payment_id      VARCHAR,
    extended        BOOLEAN NOT NULL DEFAULT false,
    network_status  VARCHAR,
    first_run_id    VARCHAR NOT NULL,
    last_run_id     VARCHAR NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
