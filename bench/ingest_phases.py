"""`python -m bench.ingest_phases`: where one in-process ingest of a bench report spends its time.

Issue 17 asks for the breakdown before any change. This loads one bench case (bench/data.py)
into a new ledger in this process and times the load's steps by wrapping the functions that
do them: each printed with its wall time, the process's CPU time meanwhile (DuckDB's threads
and the pydantic thread included, so CPU can exceed wall) and how often it ran, nested as they
ran. The pydantic thread (warehouse/amazon_scan.ScanCheck) is reported on its own: its thread
CPU, rows and rows per CPU second. One run is one sample; on a shared machine compare runs
interleaved, and read CPU before wall.

    uv run --group bench python -m bench.ingest_phases --case distinct --lines 1000000
"""

from __future__ import annotations

import argparse
import functools
import importlib
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import CASES, Case, ensure_case


@dataclass
class _Phase:
    wall: float = 0.0
    cpu: float = 0.0
    calls: int = 0


@dataclass
class _Timeline:
    phases: dict[tuple[str, ...], _Phase] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)

    @contextmanager
    def phase(self, label: str) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # a phase is the main thread's; the pydantic thread is measured apart
            return
        self.stack.append(label)
        key = tuple(self.stack)
        entry = self.phases.setdefault(key, _Phase())
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            entry.wall += time.perf_counter() - wall
            entry.cpu += time.process_time() - cpu
            entry.calls += 1
            self.stack.pop()


# What the run replaced (owner, attribute, original), put back when it ends: a caller in the
# same process (a test) must get the functions back as they were.
_Patches = list[tuple[Any, str, Any]]


def _swap(patches: _Patches, owner: Any, attr: str, new: Any) -> None:
    patches.append((owner, attr, vars(owner)[attr]))
    setattr(owner, attr, new)


def _wrap(patches: _Patches, timeline: _Timeline, module: str, name: str, label: str) -> None:
    owner: Any = importlib.import_module(module)
    *path, attr = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, attr)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with timeline.phase(label):
            return original(*args, **kwargs)

    _swap(patches, owner, attr, timed)


def _wrap_sql(patches: _Patches, timeline: _Timeline) -> None:
    from warehouse import sql

    original = sql.execute

    @functools.wraps(original)
    def timed(con: Any, name: str, **params: Any) -> Any:
        with timeline.phase(f"sql/{name}.sql"):
            return original(con, name, **params)

    _swap(patches, sql, "execute", timed)


def _wrap_ledger(patches: _Patches, timeline: _Timeline) -> None:
    import flows.ingest_steps as steps

    original = vars(steps)["ledger"]

    @contextmanager
    def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with timeline.phase("open the ledger (connect, migrate)"):
            opened = original(*args, **kwargs)
            con = opened.__enter__()
        try:
            yield con
        except BaseException as error:
            if not opened.__exit__(type(error), error, error.__traceback__):
                raise
        else:
            with timeline.phase("close the ledger (checkpoint)"):
                opened.__exit__(None, None, None)

    _swap(patches, steps, "ledger", timed)


@dataclass
class _Validation:
    cpu: float = 0.0
    wall: float = 0.0
    rows: int = 0


def _wrap_check(patches: _Patches, validation: _Validation) -> None:
    from warehouse.amazon_scan import ScanCheck

    original = ScanCheck._run

    def timed(self: ScanCheck) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            original(self)
        finally:
            validation.cpu += time.thread_time() - cpu
            validation.wall += time.perf_counter() - wall
            validation.rows += self._rows

    _swap(patches, ScanCheck, "_run", timed)


# (module, function, label): the steps of a report's load, outermost first.
_STEPS = (
    ("flows.ingest_steps", "open_report_inputs", "open the report (hash, lines, UTF-8)"),
    ("flows.ingest_steps", "load_report", "load the report"),
    ("flows.ingest_steps", "first_ingested_as", "seen before?"),
    ("flows.ingest_steps", "start_run", "record the run"),
    ("flows.ingest_steps", "stage_scan", "scan: DuckDB reads (groups), types, keys"),
    ("flows.ingest_steps", "scanned_cells", "start pydantic's reader"),
    ("warehouse.load", "_number_report_lines", "number the lines"),
    ("warehouse.load", "_lines_and_keys", "count lines and keys"),
    ("warehouse.load", "_append_load", "append lines and changes, commit"),
    ("warehouse.load", "_append_steps", "the statements"),
    ("warehouse.amazon_scan", "ScanCheck.confirm", "await pydantic's verdict"),
    ("warehouse.load", "publish_load", "publish"),
    ("flows.ingest_steps", "finish_run", "finish the run"),
    ("flows.ingest_steps", "drop_scan", "drop the scan"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, default="distinct")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    case: Case = args.case
    report = ensure_case(case, args.lines, args.seed)

    started, cpu0 = time.perf_counter(), time.process_time()
    import flows.ingest_steps as steps

    imports = time.perf_counter() - started, time.process_time() - cpu0
    timeline = _Timeline()
    validation = _Validation()
    patches: _Patches = []
    try:
        for module, name, label in _STEPS:
            _wrap(patches, timeline, module, name, label)
        _wrap_sql(patches, timeline)
        _wrap_ledger(patches, timeline)
        _wrap_check(patches, validation)
        with tempfile.TemporaryDirectory(prefix="passive-phases-") as folder:
            db = Path(folder) / "ledger.duckdb"
            wall, cpu = time.perf_counter(), time.process_time()
            summary = steps.ingest_files([report], db=db, account="bench", marketplace="US")
            total = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        for owner, attr, original in reversed(patches):
            setattr(owner, attr, original)
    if summary.exit_code != 0:
        raise SystemExit(f"the ingest failed: {summary}")
    _print(report, imports, total, timeline, validation)
    return 0


_SHOWN = 0.01  # seconds: shorter steps (bookkeeping statements) are counted, not listed


def _print(
    report: Path,
    imports: tuple[float, float],
    total: tuple[float, float],
    timeline: _Timeline,
    validation: _Validation,
) -> None:
    print(f"{report.name}: in-process ingest, wall / process CPU (s), calls")
    rows: list[tuple[str, float, float, int]] = [("imports", *imports, 1)]
    small = 0
    for key, phase in timeline.phases.items():
        if phase.wall < _SHOWN and phase.cpu < _SHOWN:
            small += 1
            continue
        rows.append(("  " * (len(key) - 1) + key[-1], phase.wall, phase.cpu, phase.calls))
    rows.append(("total (after imports)", *total, 1))
    width = max(len(label) for label, *_ in rows)
    for label, wall, cpu, calls in rows:
        print(f"  {label:<{width}}  {wall:7.2f}  {cpu:7.2f}  {calls:>4}")
    print(f"  ({small} steps of under {_SHOWN * 1000:.0f} ms not shown)")
    rate = validation.rows / validation.cpu if validation.cpu else 0.0
    print(
        f"  pydantic thread: {validation.wall:.2f} s wall, {validation.cpu:.2f} s CPU, "
        f"{validation.rows:,} scan rows, {rate:,.0f} rows per CPU second"
    )


if __name__ == "__main__":
    raise SystemExit(main())
