"""Hand-made ledger lines, terms and payments whose payout dates tests work out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

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


def build_ledger(db: Path) -> None:
    """A ledger file holding the lines, terms, payments and settings above."""
    with ledger(db) as c:
        for network, account, line_id, day, status, amount, currency in LINES:
            c.execute(
                "INSERT INTO commission_lines (network, account, line_id, event_date, status,"
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
