"""bench.ingest_phases: one real in-process ingest, its steps timed, and the functions it
wrapped put back afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.data
import flows.ingest_steps
import warehouse.sql
from bench import ingest_phases
from warehouse.amazon_scan import ScanCheck


def test_the_phases_of_an_all_distinct_report_name_its_scan_append_and_pydantic_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench.data, "OUT", tmp_path)
    before = (flows.ingest_steps.load_report, warehouse.sql.execute, ScanCheck.confirm)
    assert ingest_phases.main(["--case", "distinct", "--lines", "3000"]) == 0
    out = capsys.readouterr().out
    assert "scan: DuckDB reads (groups), types, keys" in out
    assert "sql/insert_fresh_slice.sql" in out
    assert "3,000 scan rows" in out
    assert (flows.ingest_steps.load_report, warehouse.sql.execute, ScanCheck.confirm) == before
