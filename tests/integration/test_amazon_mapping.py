"""The fast Amazon path (DuckDB's scan, its staged passes, the leftovers and the bulk
validator) loads, line by line, the ledger rows the per-model path maps: one AmazonEarningsRow
and one CommissionLine per line (schemas/amazon.py), numbered by occurrence of its content."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.amazon import iter_raw_batches, open_reports
from flows import ingest_steps
from schemas.amazon import validate_earnings_batch
from schemas.commission import LEDGER_COLUMNS
from tests.integration.test_amazon_scan import EXTRA_LINE, HEADER, ROW, TITLE

Row = tuple[object, ...]
# Lines DuckDB calls plain (only plain cells, empty text included): the rows the fast path
# types itself, so most examples hold some.
PLAIN = st.tuples(
    st.sampled_from(["Books", "", 'He said ""hi""', "日本茶"]),
    st.sampled_from(['"a, b"', "Plain name", ""]),
    st.sampled_from(["B0T2J9IKR7", "B08TTUJVRX"]),
    st.sampled_from(["Amazon.com", ""]),
    st.sampled_from(["yt-20", "deals-20"]),
    st.sampled_from(["2025-01-05", "2025-01-31"]),
    st.sampled_from(["9.99", "-0.45", "0", "-0", "12.3"]),
    st.sampled_from(["1", "0", "2"]),
    st.sampled_from(["0", "1"]),
    st.sampled_from(["9.99", "-0.45", "0", "-0", "12.3"]),
    st.sampled_from(["0.45", "-0.45", "0"]),
    st.sampled_from(["PHONE", ""]),
)


def _shaped(rows: list[list[str] | str], shape: str, repeated: list[int]) -> list[str]:
    """The report's data lines in one of the bench's shapes (see the test)."""
    if shape == "repeats":
        return [",".join(row) if isinstance(row, list) else row for row in rows]
    # Distinct: each row's ASIN gets the row's number (an empty ASIN stays a reject).
    distinct = [
        ",".join([*row[:2], f"{row[2]}{i:03d}" if row[2] else "", *row[3:]])
        for i, row in enumerate(rows)
        if isinstance(row, list)
    ] or ["Books,x,B0X,,t-20,2025-01-05,1,1,0,1,0.05,DESKTOP"]
    if shape == "distinct":
        return distinct
    return distinct + [distinct[i % len(distinct)] for i in repeated]


def _per_model(report: Path) -> tuple[Counter[Row], Counter[tuple[str, str, tuple[str, ...]]]]:
    """Every line through the per-model path, numbered as the load numbers repeated content."""
    rows: Counter[Row] = Counter()
    rejects: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    seen: Counter[str] = Counter()
    for opened in open_reports(report, marketplace="US"):
        for batch in iter_raw_batches(opened, batch_size=7):
            checked = validate_earnings_batch(list(batch), opened, account="me")
            for line in checked.lines:
                seen[line.line_id] += 1
                numbered = line.model_copy(
                    update={"line_id": f"{line.line_id}-{seen[line.line_id]}"}
                )
                rows[tuple(getattr(numbered, c) for c in LEDGER_COLUMNS)] += 1
            for reject in checked.rejects:
                rejects[(reject.locator, reject.raw, tuple(reject.reasons))] += 1
    return rows, rejects


def _loaded(db: Path) -> tuple[Counter[Row], Counter[tuple[str, str, tuple[str, ...]]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(f"SELECT {', '.join(LEDGER_COLUMNS)} FROM commissions").fetchall()
        rejects = con.execute("SELECT locator, raw, reasons FROM rejects").fetchall()
    return Counter(rows), Counter((r[0], r[1], tuple(r[2])) for r in rejects)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.one_of(ROW.map(list), PLAIN.map(list), EXTRA_LINE), min_size=1, max_size=30),
    shape=st.sampled_from(["repeats", "distinct", "few repeats"]),
    repeated=st.lists(st.integers(min_value=0, max_value=29), max_size=3),
    staged=st.booleans(),
    leftovers_allowed=st.sampled_from([0, 50_000]),
)
def test_the_fast_path_loads_the_per_model_ledger_rows_line_by_line(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[list[str] | str],
    shape: str,
    repeated: list[int],
    staged: bool,
    leftovers_allowed: int,
) -> None:
    """Whole ledger rows (every column of CommissionLine) and every reject, as multisets.

    The three shapes the bench races (bench/data.py): lines drawn from few values, so they
    repeat; every line distinct (each ASIN made unique, CRLF line ends); and distinct lines
    with a few repeated. `staged` groups the scanned lines in passes of 3; a leftover limit of
    0 sends any report with a line DuckDB cannot vouch for back to the Python reader's bulk
    validator."""
    folder = tmp_path_factory.mktemp("mapping")
    report = folder / "Fee-Earnings.csv"
    lines = _shaped(rows, shape, repeated)
    end = "\r\n" if shape == "distinct" else "\n"
    report.write_text(end.join([TITLE, HEADER, *lines]) + end, encoding="utf-8", newline="")
    monkeypatch.setenv("PASSIVE_SCAN", "1")
    monkeypatch.setenv("PASSIVE_SCAN_PASS_BYTES", "0" if staged else str(2**31))
    monkeypatch.setenv("PASSIVE_SCAN_PASS_LINES", "3" if staged else "500000")
    monkeypatch.setenv("PASSIVE_MAX_LEFTOVERS", str(leftovers_allowed))
    monkeypatch.setenv("PASSIVE_NUMBERING_PASS_LINES", "4" if staged else "1000000")
    summary = ingest_steps.ingest_files(
        [report], db=folder / "l.duckdb", account="me", marketplace="US"
    )
    expected_rows, expected_rejects = _per_model(report)
    if summary.failed:
        # Refused whole (e.g. an unaccounted line): then nothing may have loaded.
        assert _loaded(folder / "l.duckdb")[0] == Counter()
        return
    loaded_rows, loaded_rejects = _loaded(folder / "l.duckdb")
    assert loaded_rows == expected_rows
    assert loaded_rejects == expected_rejects
