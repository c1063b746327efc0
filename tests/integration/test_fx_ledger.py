"""ECB rates in a real ledger file: the conversion rule's cases, both bases, idempotent loads."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from flows.fx_steps import load_rates_path
from tests.fx_rule import convert
from warehouse.connection import ledger

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ecb"
HIST = FIXTURES / "eurofxref-hist.csv"

# (line_id, event_date, currency, sale, commission): a weekend, a line 8 days after the last
# fixing, a currency the ECB does not quote, RUB before and after its suspension, EUR itself.
LINES = [
    ("sat", date(2022, 2, 26), "USD", "100.0000", "10.0000"),
    ("fri", date(2022, 2, 25), "GBP", "55.5500", "-3.3333"),
    ("late", date(2022, 3, 12), "GBP", "20.0000", "2.0000"),
    ("chf", date(2022, 3, 1), "CHF", "80.0000", "8.0000"),
    ("rub-in", date(2022, 3, 1), "RUB", "1000.0000", "50.0000"),
    ("rub-fallback", date(2022, 3, 3), "RUB", "1000.0000", "50.0000"),
    ("rub-gone", date(2022, 3, 9), "RUB", "1000.0000", "50.0000"),
    ("jpy", date(2022, 3, 2), "JPY", "12345.0000", "617.0000"),
    ("eur", date(2022, 3, 4), "EUR", "40.0000", "4.0000"),
]


def _ledger_with_lines(db: Path) -> None:
    with ledger(db) as con:
        con.executemany(
            "INSERT INTO commission_lines (network, account, line_id, event_date, status,"
            " sale_amount,"
            " commission_amount, currency, first_run_id, last_run_id, updated_at)"
            " VALUES ('amazon', 'site', ?, ?, 'approved', ?, ?, ?, 'r', 'r', now())",
            [(i, d, s, c, cur) for i, d, cur, s, c in LINES],
        )


def _lines_in(db: Path, base: str, basis: str = "event") -> dict[str, tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT line_id, rate_day, fallback, unconverted, sales_base, commission_base"
            " FROM commissions_in(?, basis := ?)",
            [base, basis],
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_weekend_late_and_unquoted_lines(db: Path):
    _ledger_with_lines(db)
    load_rates_path(HIST, db=db)
    lines = _lines_in(db, "EUR")
    # Saturday takes Friday's fixing and says so.
    assert lines["sat"][:3] == (date(2022, 2, 25), True, False)
    assert lines["sat"][4] == Decimal("8.9158")  # 10 / 1.1216 = 8.91583...
    assert lines["fri"][:3] == (date(2022, 2, 25), False, False)
    # 8 days after the last fixing (2022-03-04), and CHF, which the file does not quote.
    assert lines["late"] == (None, False, True, None, None)
    assert lines["chf"] == (None, False, True, None, None)
    # RUB: quoted on 2022-03-01, then N/A: a fallback within 7 days, unconverted after.
    assert lines["rub-in"][:3] == (date(2022, 3, 1), False, False)
    assert lines["rub-fallback"][:3] == (date(2022, 3, 1), True, False)
    assert lines["rub-gone"] == (None, False, True, None, None)
    assert lines["eur"] == (None, False, False, Decimal("40.0000"), Decimal("4.0000"))


def test_conversion_changes_no_native_total(db: Path):
    _ledger_with_lines(db)
    load_rates_path(HIST, db=db)
    with duckdb.connect(str(db), read_only=True) as con:
        native = con.execute(
            "SELECT month, network, account, currency, status, sales, commission, lines"
            " FROM revenue_monthly ORDER BY ALL"
        ).fetchall()
        for base in ("EUR", "USD", "GBP", "CHF"):
            for basis in ("event", "month-end"):
                converted = con.execute(
                    "SELECT month, network, account, currency, status, sales, commission, lines"
                    " FROM revenue_monthly_in(?, basis := ?) ORDER BY ALL",
                    [base, basis],
                ).fetchall()
                assert converted == native
        daily = con.execute("SELECT * FROM revenue_daily ORDER BY ALL").fetchall()
        daily_in = con.execute(
            "SELECT day, network, account, currency, status, sales, commission, lines"
            " FROM revenue_daily_in('USD') ORDER BY ALL"
        ).fetchall()
        assert daily_in == daily


def _monthly_base(db: Path, base: str, basis: str) -> dict[date, tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT month, sum(sales_base), sum(commission_base), sum(fallback_lines),"
            " sum(unconverted_lines) FROM revenue_monthly_in(?, basis := ?) GROUP BY month",
            [base, basis],
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_totals_in_eur_equal_a_hand_computation_event_basis(db: Path):
    _ledger_with_lines(db)
    load_rates_path(HIST, db=db)
    d = Decimal
    one = d(1)
    february = convert(d("10.0000"), d("1.1216"), one) + convert(d("-3.3333"), d("0.83635"), one)
    march = (
        convert(d("50.0000"), d("117.2966"), one) * 2  # rub-in, rub-fallback: 2022-03-01
        + convert(d("617.0000"), d("127.76"), one)
        + d("4.0000")
    )
    assert february == d("8.9158") + d("-3.9855")
    got = _monthly_base(db, "EUR", "event")
    assert got[date(2022, 2, 1)][1:] == (february, 1, 0)
    assert got[date(2022, 3, 1)][1:] == (march, 1, 3)
    march_sales = (
        convert(d("1000.0000"), d("117.2966"), one) * 2
        + convert(d("12345.0000"), d("127.76"), one)
        + d("40.0000")
    )
    assert got[date(2022, 3, 1)][0] == march_sales


def test_totals_in_usd_equal_a_hand_computation_month_end_basis(db: Path):
    _ledger_with_lines(db)
    load_rates_path(HIST, db=db)
    d = Decimal
    # February: the fixing of 2022-02-28; March (the file ends): the last one, 2022-03-04.
    feb_usd = d("1.1240")
    mar_usd = d("1.0929")
    february = convert(d("10.0000"), feb_usd, feb_usd) + convert(
        d("-3.3333"), d("0.83653"), feb_usd
    )
    assert convert(d("10.0000"), feb_usd, feb_usd) == d("10.0000")
    march = (
        convert(d("2.0000"), d("0.82455"), mar_usd)  # late: in reach of the month's fixing
        + convert(d("617.0000"), d("126.03"), mar_usd)
        + convert(d("4.0000"), d("1"), mar_usd)
    )
    got = _monthly_base(db, "USD", "month-end")
    assert got[date(2022, 2, 1)][1:] == (february, 0, 0)
    # RUB's last fixing, 2022-03-01, is within 7 days of the month's (2022-03-04): all three
    # RUB lines take it, with that day's USD rate, and are fallbacks; CHF is not quoted.
    rub_in_reach = convert(d("50.0000"), d("117.2966"), d("1.1139"))
    assert got[date(2022, 3, 1)][1:] == (march + 3 * rub_in_reach, 3, 1)


def test_loading_the_same_rates_twice_changes_nothing(db: Path, tmp_path: Path):
    _ledger_with_lines(db)
    first = load_rates_path(HIST, db=db)
    assert (first.inserted, first.changed) == (51, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("SELECT * FROM fx_rates ORDER BY ALL").fetchall()
        lines_before = con.execute("SELECT * FROM commissions_in('USD') ORDER BY ALL").fetchall()
    copy = tmp_path / "again.csv"
    shutil.copy(HIST, copy)
    second = load_rates_path(copy, db=db)
    assert (second.read, second.inserted, second.changed) == (51, 0, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT * FROM fx_rates ORDER BY ALL").fetchall() == before
        assert con.execute("SELECT count(*) FROM fx_rate_changes").fetchone() == (0,)
        assert con.execute("SELECT * FROM commissions_in('USD') ORDER BY ALL").fetchall() == (
            lines_before
        )


def test_a_republished_fixing_updates_its_lines_and_is_recorded(db: Path, tmp_path: Path):
    _ledger_with_lines(db)
    load_rates_path(HIST, db=db)
    assert _lines_in(db, "EUR")["sat"][3:] == (d("89.1583"), d("8.9158"))
    corrected = tmp_path / "eurofxref-hist.csv"
    corrected.write_text(HIST.read_text().replace("2022-02-25,1.1216,", "2022-02-25,1.1300,"))
    result = load_rates_path(corrected, db=db)
    assert (result.inserted, result.changed) == (0, 1)
    assert _lines_in(db, "EUR")["sat"][3:] == (d("88.4956"), d("8.8496"))  # 100 / 1.13
    with duckdb.connect(str(db), read_only=True) as con:
        change = con.execute(
            "SELECT day, currency, old_per_eur, new_per_eur, old_source, new_source, run_id"
            " FROM fx_rate_changes"
        ).fetchall()
        rate = con.execute(
            "SELECT per_eur, source, loaded_run_id FROM fx_rates"
            " WHERE day = DATE '2022-02-25' AND currency = 'USD'"
        ).fetchone()
    assert change == [
        (date(2022, 2, 25), "USD", d("1.1216"), d("1.1300"), str(HIST), str(corrected),
         result.run_id)
    ]  # fmt: skip
    assert rate == (d("1.1300"), str(corrected), result.run_id)


def d(text: str) -> Decimal:
    return Decimal(text)
