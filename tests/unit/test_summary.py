"""The passive-income artifact's text: months per currency, change on last month, the chart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flows.summary import MonthIncome, chart, income_markdown, month_incomes

D = Decimal


def test_tally_rows_become_earned_pending_reversed_and_net():
    columns = (
        "month",
        "currency",
        "lines",
        "sales",
        "pending",
        "approved",
        "paid",
        "reversed",
        "net",
    )
    rows = [
        (
            date(2026, 10, 1),
            "EUR",
            3,
            D("100"),
            D("1.50"),
            D("2.00"),
            D("3.00"),
            D("-0.50"),
            D("6.50"),
        )
    ]
    (income,) = month_incomes(rows, columns)
    assert income == MonthIncome(date(2026, 10, 1), "EUR", D("5.00"), D("1.50"), D("-0.50"))
    assert income.net == D("6.50")


def test_each_currency_gets_its_own_table_newest_month_first_with_the_change():
    incomes = [
        MonthIncome(date(2026, 9, 1), "USD", D("10"), D("0"), D("0")),
        MonthIncome(date(2026, 10, 1), "USD", D("12"), D("3"), D("-1")),
        MonthIncome(date(2026, 10, 1), "EUR", D("4"), D("0"), D("0")),
    ]
    text = income_markdown(incomes)
    assert text.index("## EUR") < text.index("## USD")  # never added across currencies
    usd = text[text.index("## USD") :]
    assert usd.index("| 2026-10 |") < usd.index("| 2026-09 |")
    assert "| 2026-10 | 12.00 | 3.00 | -1.00 | 15.00 | +5.00 (+50.0%) |" in usd
    assert "| 2026-09 | 10.00 | 0.00 | 0.00 | 10.00 | – |" in usd
    assert "Net USD, 2025-11 to 2026-10:" in usd


def test_a_month_after_a_gap_compares_with_zero():
    incomes = [
        MonthIncome(date(2026, 1, 1), "GBP", D("8"), D("0"), D("0")),
        MonthIncome(date(2026, 3, 1), "GBP", D("2"), D("0"), D("0")),
    ]
    assert "| 2026-03 | 2.00 | 0.00 | 0.00 | 2.00 | +2.00 |" in income_markdown(incomes)


def test_chart_scales_bars_to_the_largest_month_and_marks_losses():
    lines = chart(
        [(date(2026, 1, 1), D("10")), (date(2026, 2, 1), D("5")), (date(2026, 3, 1), D("-10"))],
        width=10,
    ).splitlines()
    assert lines[0].startswith("2026-01 ██████████ ") and lines[0].endswith("10.00")
    assert lines[1].startswith("2026-02 █████ ")
    assert lines[2].startswith("2026-03 -██████████") and lines[2].endswith("-10.00")


def test_an_empty_ledger_says_so():
    assert "no commission lines yet" in income_markdown([])
