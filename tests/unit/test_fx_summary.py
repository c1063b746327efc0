"""The passive-income artifact's base-currency section: each month's net across currencies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flows.summary import base_markdown

COLUMNS = (
    "month", "currency", "lines", "sales", "pending", "approved", "paid", "reversed", "net",
    "fallback", "unconverted",
)  # fmt: skip


def test_latest_month_net_in_base_currency_leads_the_section():
    rows = [
        (date(2026, 10, 1), "EUR", 4, Decimal("90"), Decimal("1.0000"), Decimal("2.5000"),
         Decimal("0"), Decimal("0"), Decimal("3.5000"), 1, 0),
        (date(2026, 11, 1), "EUR", 6, Decimal("80"), Decimal("0.0050"), Decimal("10.1234"),
         Decimal("2.0000"), Decimal("-1.0000"), Decimal("12.1284"), 2, 1),
    ]  # fmt: skip
    text = base_markdown(rows, COLUMNS, "EUR")
    assert text.startswith("## All currencies in EUR")
    assert "**2026-11: net 12.13 EUR**" in text
    lines = text.splitlines()
    assert "| 2026-11 | 12.12 | 0.00 | 12.13 | 2 | 1 |" in lines
    assert lines.index("| 2026-11 | 12.12 | 0.00 | 12.13 | 2 | 1 |") < lines.index(
        "| 2026-10 | 2.50 | 1.00 | 3.50 | 1 | 0 |"
    )


def test_without_rates_the_section_says_how_to_get_them():
    assert "passive fx update" in base_markdown([], (), "USD")
