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
    rows=st.lists(st.one_of(ROW.map(list), EXTRA_LINE), min_size=1, max_size=30),
    staged=st.booleans(),
    leftovers_allowed=st.sampled_from([0, 50_000]),
)
def test_the_fast_path_loads_the_per_model_ledger_rows_line_by_line(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[list[str] | str],
    staged: bool,
    leftovers_allowed: int,
) -> None:
    """Whole ledger rows (every column of CommissionLine) and every reject, as multisets.

    `staged` groups the scanned lines in passes of 3; a leftover limit of 0 sends any report
    with a line DuckDB cannot vouch for back to the Python reader's bulk validator."""
    folder = tmp_path_factory.mktemp("mapping")
    report = folder / "Fee-Earnings.csv"
    lines = [",".join(row) if isinstance(row, list) else row for row in rows]
    report.write_text("\n".join([TITLE, HEADER, *lines]) + "\n", encoding="utf-8", newline="")
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
