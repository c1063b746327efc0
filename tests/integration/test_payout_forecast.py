"""The forecast views on hand-made ledger lines: each network's payout rule, worked by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from warehouse.connection import ledger
from warehouse.payments import set_threshold

AS_OF = date(2026, 11, 5)
D = Decimal

# (network, account, line_id, event_date, status, amount, currency)
LINES = [
    # Amazon US (threshold 10 USD): Sep 5 + Oct 4 stay below it until Nov's 1.50 makes 10.50.
    ("amazon", "amz-us", "us-sep-1", date(2026, 9, 3), "approved", D("3.00"), "USD"),
    ("amazon", "amz-us", "us-sep-2", date(2026, 9, 30), "approved", D("2.00"), "USD"),
    ("amazon", "amz-us", "us-oct-1", date(2026, 10, 1), "approved", D("4.00"), "USD"),
    ("amazon", "amz-us", "us-nov-1", date(2026, 11, 2), "approved", D("1.50"), "USD"),
    ("amazon", "amz-us", "us-dec-1", date(2026, 12, 31), "approved", D("20.00"), "USD"),
    ("amazon", "amz-us", "us-jan-1", date(2026, 1, 31), "approved", D("11.00"), "USD"),
    # Amazon UK (threshold 25 GBP) across a leap year: Dec 2027 is paid on 2028-02-29.
    ("amazon", "amz-uk", "uk-nov", date(2027, 11, 30), "approved", D("10.00"), "GBP"),
    ("amazon", "amz-uk", "uk-dec", date(2027, 12, 1), "approved", D("30.00"), "GBP"),
    # Amazon DE with a threshold of 50 EUR set by hand: 30 EUR waits for more earnings.
    ("amazon", "amz-de", "de-oct", date(2026, 10, 9), "approved", D("30.00"), "EUR"),
    # CJ: the 20th of M+1, of M+2 once extended; reversed and paid lines are not expected.
    ("cj", "cj1", "cj-a", date(2026, 10, 31), "approved", D("60.00"), "USD"),
    ("cj", "cj1", "cj-b", date(2026, 10, 1), "pending", D("10.00"), "USD"),
    ("cj", "cj1", "cj-c", date(2026, 6, 1), "paid", D("20.00"), "USD"),
    ("cj", "cj1", "cj-d", date(2026, 7, 1), "reversed", D("20.00"), "USD"),
    ("cj", "cj1", "cj-e", date(2025, 1, 1), "reversed", D("100.00"), "USD"),
    ("cj", "cj1", "cj-f", date(2026, 12, 15), "pending", D("7.77"), "USD"),
    ("cj", "cj1", "cj-g", date(2026, 10, 20), "pending", D("3.3333"), "USD"),
    # Awin: validated 1st-15th -> 1st of M+1, 16th-31st -> 15th of M+1; a known payment's date.
    ("awin", "aw1", "aw-15", date(2026, 10, 2), "approved", D("1.00"), "GBP"),
    ("awin", "aw1", "aw-16", date(2026, 10, 2), "approved", D("2.00"), "GBP"),
    ("awin", "aw1", "aw-31", date(2026, 12, 1), "approved", D("4.00"), "GBP"),
    ("awin", "aw1", "aw-leap", date(2028, 2, 1), "approved", D("8.00"), "GBP"),
    ("awin", "aw1", "aw-paymt", date(2026, 9, 1), "approved", D("16.00"), "GBP"),
    ("awin", "aw1", "aw-pend", date(2026, 11, 1), "pending", D("32.00"), "GBP"),
    ("awin", "aw1", "aw-late", date(2026, 8, 1), "approved", D("5.00"), "GBP"),
    # impact.com FIXED_DAY 15: an invoice line's DueDate first, else the first 15th after lock.
    ("impact", "imp1", "im-inv", date(2026, 9, 10), "approved", D("40.00"), "USD"),
    ("impact", "imp1", "im-15", date(2026, 9, 12), "approved", D("6.00"), "USD"),
    ("impact", "imp1", "im-14", date(2026, 9, 13), "pending", D("7.00"), "USD"),
    # impact.com BALANCE_THRESHOLD: no date can be given.
    ("impact", "imp2", "im-thr", date(2026, 10, 1), "approved", D("9.00"), "USD"),
    # Reconciliation: impact Aug is invoiced and paid, Jul is paid with no invoice.
    ("impact", "imp1", "im-aug", date(2026, 8, 3), "paid", D("50.00"), "USD"),
    ("impact", "imp1", "im-jul", date(2026, 7, 3), "paid", D("30.00"), "USD"),
    # Awin payment 9 explains its Aug and Sep lines; payment 404 is unknown (missing).
    ("awin", "aw1", "aw-p9-aug", date(2026, 8, 9), "paid", D("15.00"), "GBP"),
    ("awin", "aw1", "aw-p9-sep", date(2026, 9, 9), "paid", D("10.00"), "GBP"),
    ("awin", "aw1", "aw-p404", date(2026, 9, 19), "paid", D("7.00"), "GBP"),
]
# line_id -> (campaign_id, locking_date, validated_on, payment_id, extended)
TERMS = {
    "cj-b": (None, None, None, None, True),
    "aw-15": (None, None, date(2026, 10, 15), None, False),
    "aw-16": (None, None, date(2026, 10, 16), None, False),
    "aw-31": (None, None, date(2026, 12, 31), None, False),
    "aw-leap": (None, None, date(2028, 2, 29), None, False),
    "aw-paymt": (None, None, date(2026, 9, 30), "71", False),
    "aw-late": (None, None, date(2026, 8, 20), None, False),
    "im-inv": ("100", date(2026, 10, 10), None, None, False),
    "im-15": ("200", date(2026, 10, 15), None, None, False),
    "im-14": ("200", date(2026, 10, 14), None, None, False),
    "im-thr": ("300", date(2026, 11, 1), None, None, False),
    "aw-p9-aug": (None, None, date(2026, 8, 20), "9", False),
    "aw-p9-sep": (None, None, date(2026, 9, 20), "9", False),
    "aw-p404": (None, None, date(2026, 9, 20), "404", False),
}
# (network, account, payment_id, currency, amount, status, created, due, paid)
PAYMENTS = [
    ("awin", "aw1", "71", "GBP", D("16.00"), "scheduled", None, date(2026, 11, 20), None),
    ("awin", "aw1", "9", "GBP", D("25.00"), "paid", None, date(2026, 10, 1), date(2026, 10, 1)),
    ("impact", "imp1", "INV-1", "USD", D("90.00"), "scheduled", date(2026, 10, 1),
     date(2026, 10, 25), None),
]  # fmt: skip
# (network, account, payment_id, item, program, event_month, amount, status, due_on)
ITEMS = [
    ("impact", "imp1", "INV-1", 0, "100", date(2026, 9, 1), D("40.00"), "scheduled",
     date(2026, 10, 25)),
    ("impact", "imp1", "INV-1", 1, "100", date(2026, 8, 1), D("50.00"), "paid",
     date(2026, 9, 15)),
]  # fmt: skip


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path / "ledger.duckdb"
    with ledger(db) as c:
        for network, account, line_id, day, status, amount, currency in LINES:
            c.execute(
                "INSERT INTO commissions (network, account, line_id, event_date, status,"
                " sale_amount, commission_amount, currency, first_run_id, last_run_id,"
                " updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, 'r', 'r', now())",
                [network, account, line_id, day, status, amount, currency],
            )
        for line_id, (campaign, locking, validated, payment, extended) in TERMS.items():
            network, account = next((n, a) for n, a, i, *_ in LINES if i == line_id)
            c.execute(
                "INSERT INTO commission_terms (network, account, line_id, campaign_id,"
                " locking_date, validated_on, payment_id, extended, first_run_id, last_run_id,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'r', 'r', now())",
                [network, account, line_id, campaign, locking, validated, payment, extended],
            )
        for row in PAYMENTS:
            c.execute(
                "INSERT INTO payments (network, account, payment_id, currency, amount, status,"
                " created_on, due_on, paid_on, first_run_id, last_run_id, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'r', 'r', now())",
                list(row),
            )
        for network, account, payment, item, program, month, amount, status, due in ITEMS:
            c.execute(
                "INSERT INTO payment_items (network, account, payment_id, item, program,"
                " event_month, amount, status, due_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [network, account, payment, item, program, month, amount, status, due],
            )
        c.execute(
            "INSERT INTO payout_settings VALUES ('impact', 'imp1', 'FIXED_DAY', 15, NULL, NULL,"
            " 'api', 'r', now()), ('impact', 'imp2', 'BALANCE_THRESHOLD', NULL, 50, 'USD',"
            " 'api', 'r', now())"
        )
        set_threshold(c, network="amazon", account="amz-de", threshold=D("50"), currency="EUR")
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
