"""Amazon earnings row model, value normalisers, header aliases and the ledger mapping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import schemas.amazon as amazon_schema
from connectors.amazon import HEADER_ALIASES, REQUIRED_COLUMNS, RawLine, ReportFile
from connectors.amazon.columns import normalise_header
from connectors.amazon.marketplaces import (
    normalise_comma_number,
    normalise_dot_number,
    normalise_shipped_date,
)
from schemas.amazon import (
    LINE_ID_FIELDS,
    AmazonEarningsRow,
    earnings_line_id,
    to_commission_line,
    validate_earnings_batch,
)

REPORT = ReportFile(
    source=Path("r.csv"),
    member=None,
    name="r.csv",
    content_hash="0" * 64,
    report_type="Fee-Earnings",
    period_start=date(2020, 12, 1),
    period_end=date(2020, 12, 31),
    marketplace="US",
    currency="USD",
    columns=tuple(LINE_ID_FIELDS),
)

GOOD: dict[str, str] = {
    "category": "Electronics",
    "name": "USB-C Cable, 2-Pack",
    "asin": "B07ABCDE01",
    "seller": "Amazon.com",
    "tracking_id": "myblog-20",
    "date_shipped": "2020-12-03",
    "price": "12.99",
    "items_shipped": "2",
    "returns": "0",
    "revenue": "25.98",
    "ad_fees": "1.04",
    "device_type_group": "DESKTOP",
    "direct": "Y",
}


def raw(line_no: int, **changes: str) -> RawLine:
    fields = {**GOOD, **changes}
    return RawLine(line_no, fields, ",".join(fields.values()))


def test_row_types_strings_into_decimal_date_and_int() -> None:
    row = AmazonEarningsRow.model_validate(GOOD)
    assert row.revenue == Decimal("25.98") and isinstance(row.revenue, Decimal)
    assert row.date_shipped == date(2020, 12, 3)
    assert row.items_shipped == 2


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("revenue", "1,234.56", "revenue: Input should be a valid decimal"),
        ("ad_fees", "NaN", "ad_fees: Input should be a finite number"),
        ("revenue", "1e20", "revenue: Input should be less than"),
        ("items_shipped", "1.5", "items_shipped: Input should be a valid integer"),
        ("date_shipped", "2020/12/03", "date_shipped: Input should be a valid date"),
        ("asin", "", "asin: String should have at least 1 character"),
    ],
)
def test_bad_values_are_rejected_with_a_reason(field: str, value: str, reason: str) -> None:
    batch = validate_earnings_batch([raw(3), raw(4, **{field: value})], REPORT, account="a")
    assert len(batch.lines) == 1
    (reject,) = batch.rejects
    assert reject.locator == "r.csv:4"
    assert reject.reasons[0].startswith(reason)


def test_huge_amounts_are_rejects_not_crashes() -> None:
    # Decimal.quantize would raise InvalidOperation inside CommissionLine for these.
    batch = validate_earnings_batch([raw(3, revenue="1e30", price="-1e30")], REPORT, account="a")
    assert batch.lines == []
    assert batch.rejects[0].reasons


def test_mapping_follows_the_issue() -> None:
    row = AmazonEarningsRow.model_validate(
        {**GOOD, "items_shipped": "0", "returns": "1", "revenue": "-12.99", "ad_fees": "-0.52"}
    )
    line = to_commission_line(row, REPORT, account="store-us")
    assert line.network == "amazon"
    assert line.account == "store-us"
    assert line.status == "approved"
    assert line.event_date == date(2020, 12, 3)
    assert line.event_at is None
    assert (line.sale_amount, line.commission_amount) == (Decimal("-12.99"), Decimal("-0.52"))
    assert line.currency == "USD"
    assert line.quantity == -1
    assert (line.program, line.product_id, line.product_name, line.tracking_id) == (
        "Electronics",
        "B07ABCDE01",
        "USB-C Cable, 2-Pack",
        "myblog-20",
    )
    assert line.line_id == earnings_line_id(row)


@pytest.mark.parametrize("shipped", ["2020-11-30", "2021-01-01"])
def test_a_date_outside_the_period_is_rejected_naming_the_period(shipped: str) -> None:
    batch = validate_earnings_batch([raw(7, date_shipped=shipped)], REPORT, account="a")
    assert batch.lines == []
    assert batch.rejects[0].reasons == (
        f"date_shipped: {shipped} is outside the report period 2020-12-01 to 2020-12-31",
    )


def test_period_bounds_are_inclusive() -> None:
    batch = validate_earnings_batch(
        [raw(3, date_shipped="2020-12-01"), raw(4, date_shipped="2020-12-31")], REPORT, account="a"
    )
    assert len(batch.lines) == 2


def test_identical_rows_are_not_deduplicated() -> None:
    batch = validate_earnings_batch([raw(3), raw(4), raw(5)], REPORT, account="a")
    assert len(batch.lines) == 3
    assert len({line.line_id for line in batch.lines}) == 1
    assert batch.source_lines == [3, 4, 5]


def test_rejects_and_lines_keep_input_order_across_internal_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(amazon_schema, "_SLICE", 3)
    lines = [raw(n, revenue="bad") if n % 4 == 0 else raw(n) for n in range(3, 20)]
    batch = validate_earnings_batch(lines, REPORT, account="a")
    assert batch.records_read == 17
    assert batch.source_lines == [n for n in range(3, 20) if n % 4]
    assert [r.locator for r in batch.rejects] == [f"r.csv:{n}" for n in (4, 8, 12, 16)]
    assert batch.rejects[0].raw == lines[1].raw


@settings(deadline=None, max_examples=100)
@given(field=st.sampled_from(LINE_ID_FIELDS), data=st.data())
def test_changing_any_field_changes_the_line_id(field: str, data: st.DataObject) -> None:
    replacements = {
        "date_shipped": st.sampled_from(["2020-12-04", "2020-12-31"]),
        "price": st.sampled_from(["13.00", "0", "-12.99"]),
        "revenue": st.sampled_from(["25.99", "-25.98"]),
        "ad_fees": st.sampled_from(["1.05", "0.00"]),
        "items_shipped": st.sampled_from(["1", "3"]),
        "returns": st.sampled_from(["1", "2"]),
    }
    value = data.draw(replacements.get(field, st.text("abcXYZé,\"'", min_size=1)))
    base = AmazonEarningsRow.model_validate(GOOD)
    changed = AmazonEarningsRow.model_validate({**GOOD, field: value})
    if getattr(changed, field) != getattr(base, field):
        assert earnings_line_id(changed) != earnings_line_id(base)


def test_line_id_does_not_depend_on_cell_spacing() -> None:
    # The reader hands dates over as bare ISO text; every other cell may carry spaces.
    spaced = {k: v if k == "date_shipped" else f" {v} " for k, v in GOOD.items()}
    spaced_row = AmazonEarningsRow.model_validate(spaced)
    assert earnings_line_id(spaced_row) == earnings_line_id(AmazonEarningsRow.model_validate(GOOD))


def test_optional_columns_may_be_absent() -> None:
    fields = {k: v for k, v in GOOD.items() if k not in ("seller", "device_type_group", "direct")}
    row = AmazonEarningsRow.model_validate(fields)
    assert row.seller is None and row.direct is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.34", "12.34"),
        ("-3.10", "-3.10"),
        ("$1,234.56", "1234.56"),
        ("-$3.10", "-3.10"),
        ("$ -3.10", "-3.10"),
        ("£1,000", "1000"),
        ("Rs.1,23,456.78", "123456.78"),
        ("12,34", "12,34"),  # not a dot-decimal number: left for pydantic to reject
        ("1,2,3", "1,2,3"),
        ("abc", "abc"),
        ("", ""),
    ],
)
def test_dot_decimal_normalisation(text: str, expected: str) -> None:
    assert normalise_dot_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16,39", "16.39"),
        ("1.234,56", "1234.56"),
        ("-0,50", "-0.50"),
        ("1.234,56 €", "1234.56"),
        ("- 3,10 €", "-3.10"),
        ("1\u202f234,56", "1234.56"),
        ("1.234.567,8", "1234567.8"),
        ("1.234", "1234"),
        ("16.39", "16.39"),  # no comma and not thousands groups: a dot decimal after all
        ("12.3.4", "12.3.4"),
        ("1,2,3", "1,2,3"),
        ("n/d", "n/d"),
    ],
)
def test_comma_decimal_normalisation(text: str, expected: str) -> None:
    assert normalise_comma_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-12-18", "2024-12-18"),
        ("2024-12-18 00:00:00", "2024-12-18"),
        ("2024-12-18T13:45:00", "2024-12-18"),
        (" 2024-12-18 ", "2024-12-18"),
        ("September 25, 2012", "2012-09-25"),
        ("Sep 5, 2012", "2012-09-05"),
        ("Sept. 5 2012", "2012-09-05"),
        ("Smarch 5, 2012", "Smarch 5, 2012"),
        ("25/09/2012", "25/09/2012"),
    ],
)
def test_shipped_date_normalisation(text: str, expected: str) -> None:
    assert normalise_shipped_date(text) == expected


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Price($)", "price"),
        ("Prezzo (€)", "prezzo"),
        ("Price(Rs.)", "price"),
        ("Price (£)", "price"),
        ("Price(¥)", "price"),
        ("Tracking ID", "trackingid"),
        (" TrackingID ", "trackingid"),
        ("AD FEES($)", "adfees"),
    ],
)
def test_header_normalisation_ignores_case_space_and_currency(header: str, key: str) -> None:
    assert normalise_header(header) == key


def test_alias_table_covers_every_canonical_key_and_is_unambiguous() -> None:
    assert set(HEADER_ALIASES) == set(LINE_ID_FIELDS)
    seen: dict[str, str] = {}
    for canonical, spellings in HEADER_ALIASES.items():
        for spelling in spellings:
            assert seen.setdefault(normalise_header(spelling), canonical) == canonical
    assert set(REQUIRED_COLUMNS) == set(LINE_ID_FIELDS) - {"seller", "device_type_group", "direct"}


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="unexpected_cells"):
        AmazonEarningsRow.model_validate({**GOOD, "unexpected_cells": "x"})


def test_the_content_key_fields_are_the_readers_canonical_columns():
    # schemas/ may not import the reader (import-linter); the key's field order is declared
    # there again, and must stay the reader's column order: line ids already in ledgers use it.
    from connectors.amazon import CANONICAL_COLUMNS

    assert LINE_ID_FIELDS == CANONICAL_COLUMNS
