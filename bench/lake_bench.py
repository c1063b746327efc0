"""`python -m bench lake`: a DuckLake ledger (SQLite catalog, local Parquet) against the file
ledger: one writer, then 4 writers of 4 accounts at once; ratios measured in one run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.harness import OUT

PASSIVE = str(Path(sys.executable).parent / "passive")
WRITERS = 4


def _reports(folder: Path, lines: int) -> list[Path]:
    from sandbox.amazon_reports import write_earnings_report

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for writer in range(WRITERS):
        path = folder / f"shop-{writer}-{lines}.csv"
        if not path.exists():
            write_earnings_report(
                path,
                marketplace="US",
                period_start=date(2025, 1, 1),
                period_end=date(2025, 6, 30),
                lines=lines,
                seed=100 + writer,
            )
        paths.append(path)
    return paths


def _ingest(report: Path, account: str, db: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PASSIVE, "ingest", str(report), "--account", account, "--db", db],
        env={
            **{k: v for k, v in os.environ.items() if k not in ("PASSIVE_DB", "PASSIVE_DATA_PATH")},
            "PREFECT_API_URL": "",
            "PASSIVE_LOCK_TIMEOUT": "600",  # the file ledger's writers queue for its lock
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wall(processes: list[subprocess.Popen[bytes]], started: float) -> float:
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(err.decode(errors="replace")[-2000:])
    return time.perf_counter() - started


def _db(kind: str, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "file":
        return str(folder / "ledger.duckdb")
    return f"ducklake:sqlite:{folder / 'ledger.sqlite'}"


def bench_lake(lines: int) -> dict[str, Any]:
    """Wall times of the same loads into each ledger, and their ratios."""
    root = OUT / "runs" / "lake"
    reports = _reports(root, lines)
    print(f"\n== lake: {WRITERS} reports of {lines:,} lines, one account each")
    figures: dict[str, float] = {}
    stamp = time.strftime("%H%M%S")
    for kind in ("file", "ducklake"):
        one = _db(kind, root / f"{kind}-one-{stamp}")
        started = time.perf_counter()
        figures[f"{kind}: 1 writer, 1 report"] = _wall(
            [_ingest(reports[0], "shop-0", one)], started
        )
        serial = _db(kind, root / f"{kind}-serial-{stamp}")
        started = time.perf_counter()
        for number, report in enumerate(reports):
            _wall([_ingest(report, f"shop-{number}", serial)], started)
        figures[f"{kind}: {WRITERS} reports one after another"] = time.perf_counter() - started
        together = _db(kind, root / f"{kind}-together-{stamp}")
        started = time.perf_counter()
        processes = [_ingest(r, f"shop-{n}", together) for n, r in enumerate(reports)]
        figures[f"{kind}: {WRITERS} writers at once"] = _wall(processes, started)
    for name, seconds in figures.items():
        print(f"   {name:<45} {seconds:7.2f} s")
    ratios = {
        "ducklake / file, one writer": figures["ducklake: 1 writer, 1 report"]
        / figures["file: 1 writer, 1 report"],
        "ducklake: at once / one after another": figures[f"ducklake: {WRITERS} writers at once"]
        / figures[f"ducklake: {WRITERS} reports one after another"],
        "file: at once / one after another": figures[f"file: {WRITERS} writers at once"]
        / figures[f"file: {WRITERS} reports one after another"],
        "ducklake at once / file at once": figures[f"ducklake: {WRITERS} writers at once"]
        / figures[f"file: {WRITERS} writers at once"],
    }
    for name, ratio in ratios.items():
        print(f"   {name:<45} {ratio:7.2f}x")
    return {"lines": lines, "writers": WRITERS, "seconds": figures, "ratios": ratios}
