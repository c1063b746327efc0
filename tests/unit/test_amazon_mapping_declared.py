"""The Amazon mapping is declared once (schemas/amazon.py COLUMNS): the reader's columns, the
row model's field types, the Python mapping and the SQL the scan generates all follow it."""

from __future__ import annotations

import typing
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.amazon import ReportFile
from connectors.amazon.columns import CANONICAL_COLUMNS, NUMERIC_COLUMNS, OPTIONAL_COLUMNS
from schemas.amazon import (
    COLUMNS,
    LINE_ID_FIELDS,
    QUANTITY,
    SHARED,
    AmazonEarningsRow,
    to_commission_line,
)
from schemas.commission import LEDGER_COLUMNS
from schemas.validation import LEDGER_ARROW_SCHEMA
from warehouse import amazon_scan

US = (*CANONICAL_COLUMNS[:-1],)  # a US report: every column but `direct`
REPORT = ReportFile(
    source=Path("r.csv"),
    member=None,
    name="r.csv",
    content_hash="0" * 64,
    report_type="Fee-Earnings",
    period_start=date(2025, 1, 1),
    period_end=date(2025, 1, 31),
    marketplace="US",
    currency="USD",
    columns=US,
)
_PYTHON_TYPE: dict[str, type] = {"money": Decimal, "count": int, "date": date, "text": str}
# Filled per load or per line, not from one cell: the rest of the ledger row comes from COLUMNS
# (a cell each), QUANTITY (two cells) and SHARED (the same on every line of a report).
_PER_LOAD = {"account", "currency", "line_id", "quantity"}


def test_the_declared_columns_are_the_readers_columns_in_its_order() -> None:
    assert tuple(c.name for c in COLUMNS) == CANONICAL_COLUMNS == LINE_ID_FIELDS
    assert {c.name for c in COLUMNS if c.kind in ("money", "count")} == NUMERIC_COLUMNS


def test_each_declared_kind_is_the_row_models_field_type() -> None:
    fields = AmazonEarningsRow.model_fields
    assert set(fields) == {c.name for c in COLUMNS}
    for column in COLUMNS:
        annotation = fields[column.name].annotation
        types = set(typing.get_args(annotation)) or {annotation}
        optional = type(None) in types
        assert types - {type(None)} == {_PYTHON_TYPE[column.kind]}, column.name
        assert optional == (column.name in OPTIONAL_COLUMNS), column.name


def test_every_ledger_column_is_filled_exactly_once() -> None:
    mapped = [c.ledger for c in COLUMNS if c.ledger is not None]
    filled = [*mapped, *SHARED, *_PER_LOAD]
    assert len(filled) == len(set(filled))
    assert set(filled) == set(LEDGER_COLUMNS) == set(LEDGER_ARROW_SCHEMA.names) - {"source_line"}
    assert set(QUANTITY) <= {c.name for c in COLUMNS if c.kind == "count"}


# Plain text: no whitespace at an edge (the model strips it, so scan.sql calls it not plain),
# with quotes, commas and non-ASCII letters.
TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FF).filter(
        lambda c: not c.isspace()
    ),
    max_size=12,
)
MONEY = st.decimals(min_value=-99999, max_value=99999, places=2).map(str)
COUNT = st.integers(min_value=0, max_value=5).map(str)
DAY = st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 1, 31)).map(date.isoformat)
PLAIN_ROW = st.fixed_dictionaries(
    {
        "category": TEXT,
        "name": TEXT,
        "asin": TEXT.filter(bool),
        "seller": TEXT,
        "tracking_id": TEXT.filter(bool),
        "date_shipped": DAY,
        "price": MONEY,
        "items_shipped": COUNT,
        "returns": st.just("0"),
        "revenue": MONEY,
        "ad_fees": MONEY.map(lambda m: m.lstrip("-")),
        "device_type_group": TEXT,
    }
)


@settings(max_examples=60)
@given(rows=st.lists(PLAIN_ROW, min_size=1, max_size=8))
def test_the_scan_sql_maps_a_plain_row_as_the_per_model_path_does(
    rows: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """scan.sql's typed columns and held cells (made from COLUMNS) against to_commission_line."""
    con = duckdb.connect()
    con.execute(f"ATTACH ':memory:' AS {amazon_scan.SCAN_DB}")
    cells = [[row[name] for name in US] for row in rows]
    width = len(US)
    columns = ", ".join(f"c{i} VARCHAR" for i in range(width + 1))
    con.execute(f"CREATE TABLE cells ({columns})")
    for row_cells in cells:
        con.execute(
            f"INSERT INTO cells VALUES ({', '.join('?' * (width + 1))})", [*row_cells, None]
        )
    part = tmp_path_factory.mktemp("part") / "cells.parquet"
    con.execute(f"COPY cells TO '{part}' (FORMAT parquet)")
    query = amazon_scan.scan_sql(US, tuple(range(width)), width, "staged")
    params = {
        "period_start": REPORT.period_start,
        "period_end": REPORT.period_end,
        "part_path": str(part),
    }
    held = ", ".join(f"{amazon_scan._HELD.get(n, amazon_scan.CELL + n)} AS {n}" for n in US)
    ledger = [c for c in LEDGER_COLUMNS if c not in {*SHARED, "account", "currency"}]
    got = con.execute(
        f"SELECT plain, copies, {', '.join(ledger)}, {held} FROM ({query}) ORDER BY ALL",
        {**params, "parts": 1, "buckets": 1, "bucket": 0},
    ).fetchall()
    expected: Counter[tuple[object, ...]] = Counter()
    for row in rows:
        line = to_commission_line(AmazonEarningsRow.model_validate(row), REPORT, account="me")
        expected[(True, *[getattr(line, c) for c in ledger], *[row[n] for n in US])] += 1
    # Each distinct line once, with how many copies the report holds.
    assert Counter({(r[0], *r[2:]): r[1] for r in got}) == expected
