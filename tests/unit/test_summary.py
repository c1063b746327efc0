"""The passive-income artifacts: months per currency, partial month, change, chart and table."""

from __future__ import annotations

import base64
import re
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from flows.artifacts import money
from flows.summary import (
    PARTIAL,
    chart_svg,
    income_markdown,
    income_table,
    month_incomes,
)
from warehouse.income import IncomeRow

D = Decimal
TODAY = date(2026, 11, 3)


def row(month: date, currency: str = "USD", earned: str = "0", pending: str = "0", **kw: object):
    values: dict[str, object] = {
        "network": "amazon",
        "account": "us",
        "reversed": D("0"),
        "lines": 1,
    } | kw
    return IncomeRow(
        month=month,
        currency=currency,
        earned=D(earned),
        pending=D(pending),
        net=D(earned) + D(pending),
        **values,  # type: ignore[arg-type]
    )


def test_months_are_summed_over_networks_and_accounts_but_never_across_currencies():
    rows = [
        row(date(2026, 9, 1), earned="1.5", network="cj", account="a"),
        row(date(2026, 9, 1), earned="2.25", network="impact", account="b"),
        row(date(2026, 9, 1), "EUR", earned="4"),
    ]
    incomes = {(i.month, i.currency): i for i in month_incomes(rows)}
    assert incomes[(date(2026, 9, 1), "USD")].earned == D("3.75")
    assert incomes[(date(2026, 9, 1), "USD")].lines == 2
    assert incomes[(date(2026, 9, 1), "EUR")].net == D("4")


def test_each_currency_gets_its_own_table_newest_month_first_with_the_change():
    rows = [
        row(date(2026, 8, 1), earned="10"),
        row(date(2026, 9, 1), earned="12", pending="3", reversed=D("1")),
        row(date(2026, 9, 1), "EUR", earned="4"),
    ]
    text = income_markdown(rows, today=TODAY)
    assert text.index("## EUR") < text.index("## USD")
    usd = text[text.index("## USD") :]
    assert usd.index("| 2026-09 |") < usd.index("| 2026-08 |")
    assert "| 2026-09 | 12.00 | 3.00 | 1.00 | 15.00 | 1 | +5.00 (+50.0%) |" in usd
    assert "| 2026-08 | 10.00 | 0.00 | 0.00 | 10.00 | 1 | – |" in usd


def test_the_current_month_is_marked_partial_and_has_no_change():
    rows = [row(date(2026, 10, 1), earned="100"), row(date(2026, 11, 1), earned="2.5")]
    text = income_markdown(rows, today=TODAY)
    assert f"| 2026-11 (partial) | 2.50 | 0.00 | 0.00 | 2.50 | 1 | {PARTIAL} |" in text
    assert "%" not in text.split("| 2026-11 (partial) |")[1].splitlines()[0]


def test_a_month_after_a_gap_has_no_change_rather_than_a_change_from_zero():
    rows = [row(date(2026, 1, 1), "GBP", earned="8"), row(date(2026, 3, 1), "GBP", earned="2")]
    assert "| 2026-03 | 2.00 | 0.00 | 0.00 | 2.00 | 1 | – |" in income_markdown(rows, today=TODAY)


def test_amounts_keep_the_ledgers_precision():
    assert money(D("0.1250")) == "0.125"  # CJ reports commission to 3 decimals
    assert money(D("12.5000")) == "12.50"
    assert money(D("-3.0001")) == "-3.0001"
    table = income_table([row(date(2026, 9, 1), earned="0.125", network="cj")], today=TODAY)
    assert table == [
        {
            "month": "2026-09",
            "network": "cj",
            "account": "us",
            "currency": "USD",
            "earned": "0.125",
            "pending": "0.00",
            "reversed": "0.00",
            "net": "0.125",
            "lines": "1",
        }
    ]


@given(st.decimals(min_value=-(10**13), max_value=10**13, places=4))
def test_money_text_is_the_exact_amount(amount: Decimal):
    assert D(money(amount)) == amount


def test_the_chart_is_an_svg_image_with_a_bar_per_month_and_the_partial_one_marked():
    nets = [(date(2026, 9, 1), D("10")), (date(2026, 10, 1), D("-4")), (date(2026, 11, 1), D("1"))]
    svg = chart_svg(nets, "USD", today=TODAY)
    tree = ElementTree.fromstring(svg)  # well-formed, so the browser draws it
    bars = [e for e in tree.iter("{http://www.w3.org/2000/svg}rect") if e.find("*") is not None]
    assert len(bars) == 3
    titles = [bar[0].text for bar in bars]
    assert titles == ["2026-09: 10.00", "2026-10: -4.00", "2026-11 (partial): 1.00"]
    heights = [float(bar.get("height") or 0) for bar in bars]
    assert heights[0] > heights[1] > heights[2] > 0  # scaled to the amounts
    assert "partial month" in svg


def test_the_markdown_holds_the_chart_as_an_inline_image():
    text = income_markdown([row(date(2026, 9, 1), earned="3")], today=TODAY)
    match = re.search(
        r"!\[Net USD per month\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", text
    )
    assert match
    assert base64.b64decode(match[1]).startswith(b"<svg")


def test_an_empty_ledger_says_so():
    assert "no commission lines yet" in income_markdown([], today=TODAY)
