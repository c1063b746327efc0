"""Payments schemas: impact.com invoices and withdrawal settings, Awin payments and breakdowns."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.payments import (
    parse_event_month_year,
    validate_awin_breakdowns,
    validate_awin_payments,
    validate_invoices,
    validate_withdrawal_settings,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(), parse_float=Decimal)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12021", date(2021, 1, 1)),
        ("112026", date(2026, 11, 1)),
        ("92026", date(2026, 9, 1)),
        ("012026", date(2026, 1, 1)),
        ("122024", date(2024, 12, 1)),
        (112026, date(2026, 11, 1)),
    ],
)
def test_event_month_year_reads_one_and_two_digit_months(text: object, expected: date) -> None:
    assert parse_event_month_year(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026", "1232026", "132026", "02026", "11-2026", "11/2026", " 112026", "112026 ", "1120260",
     "", "Nov2026", "1.2026", True, None, 11.2026],
)  # fmt: skip
def test_event_month_year_rejects_anything_else(text: object) -> None:
    with pytest.raises(ValueError, match="EventMonthYear"):
        parse_event_month_year(text)


@given(st.integers(1, 12), st.integers(1970, 9999))
def test_event_month_year_round_trips_every_month(month: int, year: int) -> None:
    assert parse_event_month_year(f"{month}{year}") == date(year, month, 1)


def test_invoices_become_payments_and_items_with_their_statuses() -> None:
    body = fixture("impact/invoices_page1.json")
    batch = validate_invoices(body["Invoices"], account="SID", page=1)
    assert batch.rejects == [] and batch.records_read == 2
    first, second = batch.payments
    assert (first.payment_id, first.currency, first.amount, first.status) == (
        "1924609-1", "USD", Decimal("150.2500"), "scheduled"
    )  # fmt: skip
    # The calendar day as impact.com shows it (the account's offset), not the UTC day.
    assert first.created_on == date(2026, 11, 2) and first.due_on == date(2026, 12, 15)
    assert first.paid_on is None
    assert second.status == "overdue" and second.due_on == date(2026, 2, 15)
    items = [(i.payment_id, i.item, i.program, i.event_month, i.lines, i.amount, i.status,
              i.due_on, i.paid_on) for i in batch.items]  # fmt: skip
    assert items == [
        ("1924609-1", 0, "4636", date(2026, 9, 1), 12, Decimal("140.2500"), "paid",
         date(2026, 11, 15), date(2026, 11, 14)),
        ("1924609-1", 1, "7219", date(2026, 10, 1), 0, Decimal("10.0000"), "scheduled",
         date(2026, 12, 15), None),
        ("1924610-1", 0, "9510", date(2021, 1, 1), 3, Decimal("33.1000"), "overdue",
         date(2026, 2, 15), None),
    ]  # fmt: skip


def test_an_invoice_whose_lines_are_all_paid_is_paid_on_the_last_paid_date() -> None:
    invoice = fixture("impact/invoices_page1.json")["Invoices"][0]
    invoice["LineItems"][1] |= {"Status": "PAID", "PaidDate": "2026-12-14"}
    (payment,) = validate_invoices([invoice], account="SID", page=1).payments
    assert payment.status == "paid" and payment.paid_on == date(2026, 12, 14)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"EventMonthYear": "132026"}, "EventMonthYear"),
        ({"EventMonthYear": "2026-11"}, "EventMonthYear"),
        ({"Status": "LATE"}, "Status"),
        ({"TotalItemAmount": "ten"}, "TotalItemAmount"),
        ({"DueDate": "15/11/2026"}, "DueDate"),
    ],
)
def test_a_malformed_invoice_is_a_reject_with_its_page_and_index(
    change: dict[str, str], reason: str
) -> None:
    invoices = fixture("impact/invoices_page1.json")["Invoices"]
    invoices[1]["LineItems"][0] |= change
    batch = validate_invoices(invoices, account="SID", page=3)
    assert [p.payment_id for p in batch.payments] == ["1924609-1"]
    (reject,) = batch.rejects
    assert reject.locator == "page 3:1"
    assert any(reason in r for r in reject.reasons), reject.reasons
    assert json.loads(reject.raw)["Id"] == "1924610-1"


def test_withdrawal_settings_fixed_day() -> None:
    setting = validate_withdrawal_settings(
        fixture("impact/withdrawal_settings.json"), account="SID"
    )
    assert (setting.scheduling_type, setting.payment_day, setting.threshold) == (
        "FIXED_DAY", 15, None
    )  # fmt: skip


def test_withdrawal_settings_balance_threshold() -> None:
    body = {"PaymentSchedulingType": "BALANCE_THRESHOLD", "PaymentThreshold": "50.00"}
    setting = validate_withdrawal_settings(body, account="SID")
    assert setting.scheduling_type == "BALANCE_THRESHOLD"
    assert setting.threshold == Decimal("50.0000") and setting.payment_day is None


@pytest.mark.parametrize(
    "body",
    [
        {"PaymentSchedulingType": "FIXED_DAY", "PaymentDay": "10"},
        {"PaymentSchedulingType": "FIXED_DAY"},
        {"PaymentSchedulingType": "WEEKLY"},
        ["FIXED_DAY"],
    ],
)
def test_malformed_withdrawal_settings_say_what_was_expected(body: Any) -> None:
    with pytest.raises(ValueError, match=r"WithdrawalSettings|PaymentDay"):
        validate_withdrawal_settings(body, account="SID")


def test_awin_payments_in_both_money_shapes() -> None:
    body = fixture("awin/payments_page1.json")
    batch = validate_awin_payments(body["results"], account="77777", page=1)
    assert batch.rejects == []
    rows = [(p.payment_id, p.currency, p.amount, p.status, p.due_on, p.paid_on)
            for p in batch.payments]  # fmt: skip
    assert rows == [
        ("9876544", "EUR", Decimal("12.3400"), "scheduled", date(2026, 11, 15), None),
        ("9876543", "GBP", Decimal("250.1000"), "paid", date(2026, 11, 1), date(2026, 11, 1)),
    ]


@pytest.mark.parametrize(
    "change",
    [{"paymentId": "P-1"}, {"processingDate": "yesterday"}, {"amount": 1.5}, {"currency": "pounds"},
     {"status": "lost"}],
)  # fmt: skip
def test_a_malformed_awin_payment_is_a_reject_with_its_page_and_index(
    change: dict[str, Any],
) -> None:
    records = fixture("awin/payments_page1.json")["results"]
    records[1] |= change
    if change.get("amount") == 1.5:
        records[1]["amount"] = 1.5  # a binary float: money must stay exact
    batch = validate_awin_payments(records, account="77777", page=2)
    assert [p.payment_id for p in batch.payments] == ["9876544"]
    assert [r.locator for r in batch.rejects] == ["page 2:1"]


def test_awin_money_as_value_and_currency_is_read_too() -> None:
    record = {"paymentId": 7, "processingDate": "2026-10-15",
              "amount": {"value": Decimal("3.10"), "currency": "usd"}}  # fmt: skip
    (payment,) = validate_awin_payments([record], account="77777", page=1).payments
    assert (payment.payment_id, payment.amount, payment.currency) == ("7", Decimal("3.1000"), "USD")


def test_awin_breakdowns_become_items_of_their_payment() -> None:
    records = fixture("awin/payment_breakdowns.json")["results"]
    batch = validate_awin_breakdowns(
        records, account="77777", payment_id="9876543", first_item=0, page=1
    )
    assert [(i.payment_id, i.item, i.program, i.description, i.amount) for i in batch.items] == [
        ("9876543", 0, "17874", "Fjord Fashion", Decimal("200.0000")),
        ("9876543", 1, "21833", "Thistle Tea Co", Decimal("50.1000")),
    ]
    records[0] = {"advertiserName": "no id"}
    batch = validate_awin_breakdowns(
        records, account="77777", payment_id="9876543", first_item=25, page=2
    )
    assert [r.locator for r in batch.rejects] == ["payment 9876543 page 2:0"]
    assert [i.item for i in batch.items] == [26]


def test_a_payment_read_twice_keeps_its_latest_reading_and_items() -> None:
    invoices = fixture("impact/invoices_page1.json")["Invoices"]
    batch = validate_invoices(invoices, account="SID", page=1)
    later = json.loads(json.dumps(invoices[0], default=str))
    later["LineItems"] = later["LineItems"][:1]
    batch.merge(validate_invoices([later], account="SID", page=2))
    assert [p.payment_id for p in batch.payments] == ["1924610-1", "1924609-1"]
    assert [(i.payment_id, i.item) for i in batch.items] == [("1924610-1", 0), ("1924609-1", 0)]
    assert batch.records_read == 3
