"""The SQL conversion (fx_convert, commissions_in, revenue_*_in) against Python's Decimal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fx_rule import Line, convert, convert_line
from warehouse.connection import migrate

AMOUNTS = st.decimals(
    min_value=Decimal("-99999999999999.9999"),
    max_value=Decimal("99999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
RATES = st.decimals(
    min_value=Decimal("0.000001"),
    max_value=Decimal("999999999999.999999"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
).filter(lambda r: r > 0)
# Rates the ECB publishes: 0.0x to ~20,000 with up to 6 decimals.
ECB_RATES = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("20000"), places=6, allow_nan=False
)
START = date(2024, 2, 20)
DAYS = st.integers(min_value=0, max_value=45).map(lambda n: START + timedelta(days=n))
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "XXX")
QUOTED = ("USD", "GBP", "JPY")


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    migrate(connection)
    yield connection
    connection.close()


@given(amount=AMOUNTS, per_eur_from=RATES, per_eur_to=RATES)
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fx_convert_equals_decimal_rounded_half_away_from_zero(
    con, amount, per_eur_from, per_eur_to
):
    expected = convert(amount, per_eur_from, per_eur_to)
    if abs(expected) >= Decimal(10) ** 34:
        return  # beyond DECIMAL(38,4); no ledger amount and ECB rate come near it
    got = con.execute(
        "SELECT fx_convert(CAST(? AS DECIMAL(18,4)), CAST(? AS DECIMAL(18,6)),"
        " CAST(? AS DECIMAL(18,6)))",
        [str(amount), str(per_eur_from), str(per_eur_to)],
    ).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.0001", "0.0001"),  # 0.00005
        ("-0.0001", "-0.0001"),  # -0.00005
        ("0.0003", "0.0002"),  # 0.00015
        ("-0.0005", "-0.0003"),  # -0.00025
        ("0.0001", "0.0001"),
    ],
)
def test_fx_convert_rounds_exact_halves_away_from_zero(con, amount, expected):
    # per_eur 2 -> 1 halves the amount: 0.0001 becomes 0.00005, an exact half at the 5th place,
    # which banker's rounding (DuckDB's ROUND on DOUBLE, Python's default) would send to 0.
    got = con.execute("SELECT fx_convert(CAST(? AS DECIMAL(18,4)), 2, 1)", [amount]).fetchone()[0]
    assert got == Decimal(expected)


def test_fx_convert_rounds_below_half_toward_zero(con):
    got = con.execute("SELECT fx_convert(CAST(0.0001 AS DECIMAL(18,4)), 3, 1)").fetchone()[0]
    assert got == Decimal("0.0000")


def _load(con, lines: list[Line], rates: dict[tuple[date, str], Decimal]) -> None:
    con.execute("DELETE FROM commission_lines")
    con.execute("DELETE FROM fx_rates")
    if rates:
        con.executemany(
            "INSERT INTO fx_rates VALUES (?, ?, ?, 'test', 'run')",
            [(day, currency, str(rate)) for (day, currency), rate in rates.items()],
        )
    con.executemany(
        "INSERT INTO commission_lines (network, account, line_id, event_date, status,"
        " sale_amount,"
        " commission_amount, currency, first_run_id, last_run_id, updated_at)"
        " VALUES ('n', 'a', ?, ?, 'approved', ?, ?, ?, 'run', 'run', now())",
        [
            (
                str(i),
                line.event_date,
                str(line.sale_amount),
                str(line.commission_amount),
                line.currency,
            )
            for i, line in enumerate(lines)
        ],
    )


LINES = st.lists(
    st.builds(Line, event_date=DAYS, currency=st.sampled_from(CURRENCIES),
              sale_amount=AMOUNTS, commission_amount=AMOUNTS),
    min_size=1,
    max_size=30,
)  # fmt: skip
RATE_TABLES = st.dictionaries(st.tuples(DAYS, st.sampled_from(QUOTED)), ECB_RATES, max_size=60)


@given(
    lines=LINES,
    rates=RATE_TABLES,
    base=st.sampled_from(CURRENCIES),
    basis=st.sampled_from(("event", "month-end")),
)
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_commission_base_sums_the_rounded_lines_and_own_currency_is_identity(
    con, lines, rates, base, basis
):
    _load(con, lines, rates)
    by_line = {
        int(row[0]): row[1:]
        for row in con.execute(
            "SELECT line_id, rate_day, fallback, unconverted, sales_base, commission_base"
            " FROM commissions_in(?, basis := ?)",
            [base, basis],
        ).fetchall()
    }
    expected = [convert_line(line, rates, base, basis) for line in lines]
    for i, (line, want) in enumerate(zip(lines, expected, strict=True)):
        rate_day, fallback, unconverted, sales_base, commission_base = by_line[i]
        assert (rate_day, fallback) == (want.rate_day, want.fallback)
        assert unconverted == (want.commission_base is None)
        assert (sales_base, commission_base) == (want.sales_base, want.commission_base)
        if line.currency == base:
            assert (sales_base, commission_base) == (line.sale_amount, line.commission_amount)
    total, unconverted_lines, native = con.execute(
        "SELECT sum(commission_base), sum(unconverted_lines), sum(commission)"
        " FROM revenue_monthly_in(?, basis := ?)",
        [base, basis],
    ).fetchone()
    converted = [w.commission_base for w in expected if w.commission_base is not None]
    assert total == (sum(converted, Decimal(0)) if converted else None)
    assert unconverted_lines == sum(1 for w in expected if w.commission_base is None)
    assert native == sum((line.commission_amount for line in lines), Decimal(0))
    daily = con.execute(
        "SELECT sum(commission_base) FROM revenue_daily_in(?, basis := ?)", [base, basis]
    ).fetchone()[0]
    assert daily == total


@pytest.mark.parametrize("offset", [-1, 0, 1])
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("per_eur_to", ["1.0921", "17013.86", "0.000001"])
def test_fx_convert_is_exact_either_side_of_the_bigint_limit(con, offset, sign, per_eur_to):
    # fx_muldiv works in BIGINT while |amount units| <= 4e18 // rate units, in HUGEINT beyond.
    rate_units = int(Decimal(per_eur_to) * 1_000_000)
    units = min(4_000_000_000_000_000_000 // rate_units + offset, 10**18 - 1)
    amount = Decimal(sign * units).scaleb(-4)
    got = con.execute(
        "SELECT fx_convert(CAST(? AS DECIMAL(18,4)), 1.0921, CAST(? AS DECIMAL(18,6)))",
        [str(amount), per_eur_to],
    ).fetchone()[0]
    assert got == convert(amount, Decimal("1.0921"), Decimal(per_eur_to))
