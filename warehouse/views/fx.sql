-- Converting the ledger into one base currency at ECB reference rates (issue 14; stable names:
-- add columns, never rename). The rule, exactly:
-- * basis 'event': a line takes the fixing of its event_date, else the latest fixing up to 7
--   days earlier (a fallback line); basis 'month-end': every line of a month takes the last
--   fixing on or before the month's last day (for a month not over, the latest one), with the
--   same 7-day limit, so a suspended currency (RUB since 2022-03-01) is never converted at a
--   stale rate. No fixing in reach, or a currency the ECB does not quote: the line is
--   unconverted (its *_base amounts are NULL, never 0) and counted as such.
-- * A fixing serves a line when both its currency and the base are quoted that day (EUR is
--   implied as 1 on every day the ECB published), so each line has one rate_day to trace.
-- * amount x per_eur[base] / per_eur[currency], exact, rounded per line to 4 decimal places
--   half away from zero; lines already in the base currency are untouched.

-- Exact conversion: DuckDB divides DECIMALs as DOUBLE, so the amount (units of 1e-4) and
-- both rates (units of 1e-6) are taken as integers and the quotient is rounded half away from
-- zero in integer arithmetic. fx_units reads a DECIMAL's integer without a HUGEINT cast (which
-- cost ~2.5 s per million lines here): the whole part and the fraction are read apart.
CREATE OR REPLACE MACRO fx_units(x, factor) AS
    CAST(trunc(x) AS BIGINT) * factor + CAST((x - trunc(x)) * factor AS BIGINT);

-- a x b / c as a 4-place amount (a in units of 1e-4; b, c > 0 in the same units), rounded half
-- away from zero: in BIGINT while 2|a|b + c fits one (any ledger line at an ECB rate up to
-- ~20,000), else in HUGEINT (|a| < 1e18 and b < 1e18, so |a| x b < 1e36 < 1.7e38).
CREATE OR REPLACE MACRO fx_muldiv(a, b, c) AS
    CASE
        WHEN abs(a) <= 4000000000000000000 // b
        THEN CAST(sign(a) * ((2 * abs(a) * b + c) // (2 * c)) AS DECIMAL(38, 0))
        ELSE CAST(
            sign(a) * ((2 * CAST(abs(a) AS HUGEINT) * b + c) // (2 * CAST(c AS HUGEINT)))
            AS DECIMAL(38, 0)
        )
    END * CAST(0.0001 AS DECIMAL(38, 4));

-- amount x per_eur_to / per_eur_from, exact, rounded to 4 places half away from zero.
CREATE OR REPLACE MACRO fx_convert(amount, per_eur_from, per_eur_to) AS
    fx_muldiv(
        fx_units(CAST(amount AS DECIMAL(18, 4)), 10000),
        fx_units(CAST(per_eur_to AS DECIMAL(18, 6)), 1000000),
        fx_units(CAST(per_eur_from AS DECIMAL(18, 6)), 1000000)
    );

-- The rate from one currency to another, per_eur_to / per_eur_from, to 12 decimal places
-- (for tracing a line to its fixing; amounts are converted by fx_convert, not with this).
CREATE OR REPLACE MACRO fx_rate(per_eur_from, per_eur_to) AS
    CAST(
        (2 * CAST(fx_units(CAST(per_eur_to AS DECIMAL(18, 6)), 1000000) AS HUGEINT)
            * 1000000000000
         + fx_units(CAST(per_eur_from AS DECIMAL(18, 6)), 1000000))
        // (2 * fx_units(CAST(per_eur_from AS DECIMAL(18, 6)), 1000000))
        AS DECIMAL(38, 0)
    ) * CAST(0.000000000001 AS DECIMAL(38, 12));

-- Each ledger line with the fixing it takes in `base`: rate, rate_day, the converted amounts.
CREATE OR REPLACE MACRO commissions_in(base, basis := 'event') AS TABLE
WITH
settings AS (
    SELECT
        upper(trim(base)) AS base_currency,
        CASE
            WHEN lower(trim(basis)) IN ('event', 'month-end') THEN lower(trim(basis))
            ELSE error('basis must be ''event'' or ''month-end''; got ''' || basis || '''')
        END AS basis
),
fx_days AS (
    SELECT DISTINCT day FROM fx_rates
),
fixings AS (
    SELECT day, currency, per_eur FROM fx_rates WHERE currency <> 'EUR'
    UNION ALL
    SELECT day, 'EUR', CAST(1 AS DECIMAL(18, 6)) FROM fx_days
),
quotes AS (
    -- the days a currency and the base are both quoted, with both rates
    SELECT f.currency, f.day, f.per_eur AS per_eur_line, b.per_eur AS per_eur_base
    FROM fixings AS f
    JOIN fixings AS b ON b.day = f.day
    WHERE b.currency = (SELECT base_currency FROM settings)
),
keys AS (
    SELECT DISTINCT event_date, currency FROM commissions
),
month_refs AS (
    -- the last fixing on or before each month's last day (none yet: the last day itself)
    SELECT m.month_end, coalesce(d.day, m.month_end) AS ref_day
    FROM (SELECT DISTINCT last_day(event_date) AS month_end FROM keys) AS m
    ASOF LEFT JOIN fx_days AS d ON m.month_end >= d.day
),
refs AS (
    SELECT
        k.event_date,
        k.currency,
        CASE WHEN (SELECT basis FROM settings) = 'event' THEN k.event_date ELSE r.ref_day END
            AS ref_day
    FROM keys AS k
    LEFT JOIN month_refs AS r ON r.month_end = last_day(k.event_date)
),
rated AS (
    SELECT
        r.event_date,
        r.currency,
        r.ref_day,
        CASE WHEN q.day >= r.ref_day - 7 THEN q.day END AS rate_day,
        CASE WHEN q.day >= r.ref_day - 7 THEN q.per_eur_line END AS per_eur_line,
        CASE WHEN q.day >= r.ref_day - 7 THEN q.per_eur_base END AS per_eur_base
    FROM refs AS r
    ASOF LEFT JOIN quotes AS q ON r.currency = q.currency AND r.ref_day >= q.day
),
keyed AS (
    -- per (day, currency), not per line: the rate to show and both rates as integers
    SELECT
        *,
        fx_rate(per_eur_line, per_eur_base) AS rate,
        fx_units(per_eur_line, 1000000) AS line_units,
        fx_units(per_eur_base, 1000000) AS base_units
    FROM rated
),
lines AS (
    SELECT
        *,
        fx_units(sale_amount, 10000) AS sale_units,
        fx_units(commission_amount, 10000) AS commission_units
    FROM commissions
)
SELECT
    c.* EXCLUDE (sale_units, commission_units),
    s.base_currency,
    CASE WHEN c.currency = s.base_currency THEN CAST(1 AS DECIMAL(38, 12)) ELSE x.rate END
        AS rate,
    CASE WHEN c.currency <> s.base_currency THEN x.rate_day END AS rate_day,
    coalesce(c.currency <> s.base_currency AND x.rate_day < x.ref_day, false) AS fallback,
    c.currency <> s.base_currency AND x.rate_day IS NULL AS unconverted,
    CASE
        WHEN c.currency = s.base_currency THEN CAST(c.sale_amount AS DECIMAL(38, 4))
        ELSE fx_muldiv(c.sale_units, x.base_units, x.line_units)
    END AS sales_base,
    CASE
        WHEN c.currency = s.base_currency THEN CAST(c.commission_amount AS DECIMAL(38, 4))
        ELSE fx_muldiv(c.commission_units, x.base_units, x.line_units)
    END AS commission_base
FROM lines AS c
CROSS JOIN settings AS s
LEFT JOIN keyed AS x ON x.event_date = c.event_date AND x.currency = c.currency;

-- revenue_daily with the day's lines converted into `base` (see commissions_in).
CREATE OR REPLACE MACRO revenue_daily_in(base, basis := 'event') AS TABLE
SELECT
    event_date AS day,
    network,
    account,
    currency,
    status,
    sum(sale_amount) AS sales,
    sum(commission_amount) AS commission,
    count(*) AS lines,
    any_value(base_currency) AS base_currency,
    sum(sales_base) AS sales_base,
    sum(commission_base) AS commission_base,
    count(*) FILTER (WHERE fallback) AS fallback_lines,
    count(*) FILTER (WHERE unconverted) AS unconverted_lines
FROM commissions_in(base, basis := basis)
GROUP BY event_date, network, account, currency, status;

-- revenue_monthly with the month's lines converted into `base`: revenue_daily_in's days
-- added up (sums of the rounded lines, as the days are).
CREATE OR REPLACE MACRO revenue_monthly_in(base, basis := 'event') AS TABLE
SELECT
    CAST(date_trunc('month', day) AS DATE) AS month,
    network,
    account,
    currency,
    status,
    sum(sales) AS sales,
    sum(commission) AS commission,
    CAST(sum(lines) AS BIGINT) AS lines,
    any_value(base_currency) AS base_currency,
    sum(sales_base) AS sales_base,
    sum(commission_base) AS commission_base,
    CAST(sum(fallback_lines) AS BIGINT) AS fallback_lines,
    CAST(sum(unconverted_lines) AS BIGINT) AS unconverted_lines
FROM revenue_daily_in(base, basis := basis)
GROUP BY CAST(date_trunc('month', day) AS DATE), network, account, currency, status;
