"""pydantic over the scan's cells (warehouse/amazon_scan.py _cells_fail): each column's
distinct cells are validated once, and a failure still names its row in the batch."""

from __future__ import annotations

import pyarrow as pa
import pytest

from warehouse import amazon_scan
from warehouse.amazon_scan import _cells_fail

GOOD = {
    "category": "Books",
    "name": "A book",
    "asin": "B0T2J9IKR7",
    "seller": "Amazon.com",
    "tracking_id": "yt-20",
    "date_shipped": "2025-01-05",
    "price": "9.99",
    "items_shipped": "1",
    "returns": "0",
    "revenue": "9.99",
    "ad_fees": "0.45",
    "device_type_group": "PHONE",
}


def _batch(rows: list[dict[str, str]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows)


def test_good_cells_pass() -> None:
    assert _cells_fail(_batch([GOOD, {**GOOD, "name": "Other"}, GOOD])) is None


@pytest.mark.parametrize(
    ("column", "cell"),
    [("date_shipped", "2025-13-01"), ("price", "abc"), ("items_shipped", "x"), ("asin", "")],
)
def test_a_bad_cell_among_repeated_ones_is_named_by_its_row(column: str, cell: str) -> None:
    rows = [GOOD] * 5 + [{**GOOD, column: cell}] + [GOOD] * 3
    failure = _cells_fail(_batch(rows))
    assert failure is not None and failure.startswith(f"{column}.5")


def test_each_columns_distinct_cells_are_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, list[str]]] = []

    def recording(cells: dict[str, list[str]]) -> None:
        seen.append(cells)

    monkeypatch.setattr(amazon_scan, "cells_fail", recording)
    rows = [GOOD, {**GOOD, "name": "Other"}, GOOD, GOOD]
    assert _cells_fail(_batch(rows)) is None
    assert len(seen) == 1
    assert sorted(seen[0]["name"]) == ["A book", "Other"]
    assert seen[0]["price"] == ["9.99"]
