"""The SQL of warehouse/amazon_scan.py must agree with the Python path character by character."""

from __future__ import annotations

import sys
from decimal import Decimal

import duckdb
from hypothesis import given
from hypothesis import strategies as st

from schemas.amazon import key_text
from warehouse.amazon_scan import _SPACE


@given(
    st.decimals(
        min_value=Decimal("-99999999999999.9999"),
        max_value=Decimal("99999999999999.9999"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_money_in_the_content_key_is_spelled_as_duckdb_spells_it(value: Decimal) -> None:
    text = format(value, "f")
    row = duckdb.execute("SELECT CAST(? AS DECIMAL(18, 4))::VARCHAR", [text]).fetchone()
    assert row is not None
    assert key_text(Decimal(text)) == row[0]


def test_every_character_python_strips_counts_as_edge_space_in_the_scan() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT s, regexp_full_match(s, '{_SPACE}') FROM unnest(?) AS t(s)", [spaces]
    ).fetchall()
    assert [s for s, matched in rows if not matched] == []
