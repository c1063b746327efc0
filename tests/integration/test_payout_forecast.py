"""The forecast views on hand-made ledger lines: each network's payout rule, worked by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.payout_fixture import AS_OF, D, build_ledger
from warehouse.connection import ledger
from warehouse.payments import set_threshold


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path / "ledger.duckdb"
    build_ledger(db)
    with ledger(db) as c:
        c.execute(f"SET VARIABLE passive_as_of = DATE '{AS_OF}'")
        yield c


def lines(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[date | None, str, Decimal]]:
    rows = con.execute(
        "SELECT line_id, expected_on, basis, likely_amount FROM payout_lines"
    ).fetchall()
    return {line_id: (expected, basis, likely) for line_id, expected, basis, likely in rows}


def test_amazon_pays_60_days_after_month_end_and_rolls_balances_below_threshold(
    con: duckdb.DuckDBPyConnection,
) -> None:
    got = lines(con)
    # Jan 31 + 60 days = Apr 1 (2026 is not a leap year); 11 USD reaches the threshold.
    assert got["us-jan-1"][:2] == (date(2026, 4, 1), "amazon schedule")
    # Sep (5) rolls past Nov 29, Oct (9) past Dec 30; Nov's 1.50 makes 10.50 on Jan 29.
    for line_id in ("us-sep-1", "us-sep-2", "us-oct-1", "us-nov-1"):
        assert got[line_id][0] == date(2027, 1, 29), line_id
    assert got["us-dec-1"][0] == date(2027, 3, 1)  # Dec 31 + 60
    # UK: Nov 2027's 10 GBP is below 25 on Jan 29 2028 and rolls to Dec's date, Feb 29 2028.
    assert got["uk-nov"][0] == got["uk-dec"][0] == date(2028, 2, 29)
    # DE with a threshold of 50 set by hand: 30 EUR has no payment date yet.
    assert got["de-oct"][:2] == (None, "amazon schedule")


def test_cj_pays_on_the_20th_of_the_locking_month(con: duckdb.DuckDBPyConnection) -> None:
    got = lines(con)
    assert got["cj-a"][:2] == (date(2026, 11, 20), "cj schedule")
    assert got["cj-b"][0] == date(2026, 12, 20)  # extended: locks Dec 10
    assert got["cj-f"][0] == date(2027, 1, 20)
    assert "cj-c" not in got and "cj-d" not in got and "cj-e" not in got


def test_awin_pays_by_validation_half_month_or_on_its_payment(
    con: duckdb.DuckDBPyConnection,
) -> None:
    got = lines(con)
    assert got["aw-15"][:2] == (date(2026, 11, 1), "awin schedule")
    assert got["aw-16"][:2] == (date(2026, 11, 15), "awin schedule")
    assert got["aw-31"][0] == date(2027, 1, 15)
    assert got["aw-leap"][0] == date(2028, 3, 15)
    assert got["aw-paymt"][:2] == (date(2026, 11, 20), "payment")
    assert got["aw-pend"][:2] == (None, "awin schedule")


def test_impact_takes_the_invoice_due_date_else_the_first_payment_day_after_locking(
    con: duckdb.DuckDBPyConnection,
) -> None:
    got = lines(con)
    assert got["im-inv"][:2] == (date(2026, 10, 25), "invoice")
    assert got["im-15"][:2] == (date(2026, 11, 15), "impact schedule")
    assert got["im-14"][:2] == (date(2026, 10, 15), "impact schedule")
    assert got["im-thr"][:2] == (None, "threshold")


def test_likely_amount_discounts_pending_lines_by_the_reversal_rate(
    con: duckdb.DuckDBPyConnection,
) -> None:
    got = lines(con)
    # cj1 decided within 365 days of Nov 5 2026: approved 60, paid 20, reversed 20 -> 20%.
    assert got["cj-a"][2] == D("60.0000")  # approved: the amount itself
    assert got["cj-b"][2] == D("8.0000")
    assert got["cj-f"][2] == D("6.2160")
    assert got["cj-g"][2] == D("2.6666")  # 2.66664
    # aw1 has no reversed line: pending keeps its amount.
    assert got["aw-pend"][2] == D("32.0000")


def test_payouts_expected_sums_per_network_currency_and_day(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = con.execute(
        "SELECT network, currency, expected_on, sum(lines)::INT, sum(amount), sum(likely_amount)"
        " FROM payouts_expected GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("amazon", "EUR", None, 1, D("30.0000"), D("30.0000")),
        ("amazon", "GBP", date(2028, 2, 29), 2, D("40.0000"), D("40.0000")),
        ("amazon", "USD", date(2026, 4, 1), 1, D("11.0000"), D("11.0000")),
        ("amazon", "USD", date(2027, 1, 29), 4, D("10.5000"), D("10.5000")),
        ("amazon", "USD", date(2027, 3, 1), 1, D("20.0000"), D("20.0000")),
        ("awin", "GBP", date(2026, 9, 15), 1, D("5.0000"), D("5.0000")),
        ("awin", "GBP", date(2026, 11, 1), 1, D("1.0000"), D("1.0000")),
        ("awin", "GBP", date(2026, 11, 15), 1, D("2.0000"), D("2.0000")),
        ("awin", "GBP", date(2026, 11, 20), 1, D("16.0000"), D("16.0000")),
        ("awin", "GBP", date(2027, 1, 15), 1, D("4.0000"), D("4.0000")),
        ("awin", "GBP", date(2028, 3, 15), 1, D("8.0000"), D("8.0000")),
        ("awin", "GBP", None, 1, D("32.0000"), D("32.0000")),
        ("cj", "USD", date(2026, 11, 20), 2, D("63.3333"), D("62.6666")),
        ("cj", "USD", date(2026, 12, 20), 1, D("10.0000"), D("8.0000")),
        ("cj", "USD", date(2027, 1, 20), 1, D("7.7700"), D("6.2160")),
        ("impact", "USD", date(2026, 10, 15), 1, D("7.0000"), D("7.0000")),
        ("impact", "USD", date(2026, 10, 25), 1, D("40.0000"), D("40.0000")),
        ("impact", "USD", date(2026, 11, 15), 1, D("6.0000"), D("6.0000")),
        ("impact", "USD", None, 1, D("9.0000"), D("9.0000")),
    ]


def test_unpaid_overdue_lists_approved_lines_more_than_30_days_past(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = con.execute(
        "SELECT network, line_id, expected_on, days_overdue FROM unpaid_overdue ORDER BY ALL"
    ).fetchall()
    # Nov 5 - 30 days = Oct 6: Amazon's Apr 1 and Awin's Sep 15 are overdue; Oct 15 is not.
    assert rows == [
        ("amazon", "us-jan-1", date(2026, 4, 1), 218),
        ("awin", "aw-late", date(2026, 9, 15), 51),
    ]


def test_reconciliation_finds_the_missing_payments(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT network, account, currency, month, ledger_paid, payments, difference"
        " FROM payments_reconciliation ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("awin", "aw1", "GBP", date(2026, 8, 1), D("15.0000"), D("15.0000"), D("0.0000")),
        ("awin", "aw1", "GBP", date(2026, 9, 1), D("17.0000"), D("10.0000"), D("7.0000")),
        ("impact", "imp1", "USD", date(2026, 7, 1), D("30.0000"), D("0.0000"), D("30.0000")),
        ("impact", "imp1", "USD", date(2026, 8, 1), D("50.0000"), D("50.0000"), D("0.0000")),
    ]


def _amazon_reference(months: dict[date, Decimal], threshold: Decimal) -> dict[date, date | None]:
    """Issue 15's Amazon rule, stepped through month by month in Python."""
    out: dict[date, date | None] = {}
    waiting: list[date] = []
    balance = Decimal(0)
    for month in sorted(months):
        balance += months[month]
        waiting.append(month)
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        pay_on = following - timedelta(days=1) + timedelta(days=60)
        if balance >= threshold:
            out |= dict.fromkeys(waiting, pay_on)
            waiting, balance = [], Decimal(0)
    return out | dict.fromkeys(waiting, None)


_MONTHS = st.dictionaries(
    st.builds(date, st.integers(2023, 2029), st.integers(1, 12), st.just(1)),
    st.decimals(min_value=-5, max_value=30, places=2),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(months=_MONTHS, threshold=st.sampled_from([Decimal(10), Decimal(25), Decimal(0)]))
def test_amazon_roll_over_matches_the_rule_month_by_month(
    tmp_path: Path, months: dict[date, Decimal], threshold: Decimal
) -> None:
    db = tmp_path / "amazon.duckdb"
    with ledger(db) as con:
        con.execute("DELETE FROM commission_lines; DELETE FROM payout_settings")
        for n, (month, amount) in enumerate(months.items()):
            con.execute(
                "INSERT INTO commission_lines (network, account, line_id, event_date, status,"
                " sale_amount, commission_amount, currency, first_run_id, last_run_id,"
                " updated_at) VALUES ('amazon', 'a', ?, ?, 'approved', 0, ?, 'USD', 'r', 'r',"
                " now())",
                [str(n), month + timedelta(days=n % 28), amount],
            )
        set_threshold(con, network="amazon", account="a", threshold=threshold)
        got = dict(
            con.execute(
                "SELECT CAST(date_trunc('month', event_date) AS DATE), expected_on"
                " FROM payout_lines"
            ).fetchall()
        )
    assert got == _amazon_reference(months, threshold)
