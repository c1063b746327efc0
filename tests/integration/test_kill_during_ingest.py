"""SIGKILL an ingest of a large restated report at ten points: the ledger is all old or all new.

DuckDB 1.5 replays the row groups a bulk append wrote ahead of its commit even when the WAL
ends before the commit's flush marker (wal_replay.cpp merges them outside the replay's
transaction; duckdb/duckdb#25931), so a kill while a big commit's WAL is being written used
to reopen with the new lines AND the lines they replace (issue 10, section 2).
Kill points are chosen by watching the ledger's files grow, never by the clock.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sandbox.amazon_reports import write_earnings_report
from warehouse.connection import open_ledger

pytestmark = pytest.mark.crash

LINES = 200_000
PERIOD = (date(2025, 1, 1), date(2025, 6, 30))
PASSIVE = str(Path(sys.executable).parent / "passive")

# Order-independent digests: a sum of row hashes changes with any line, whatever the order.
_LEDGER = """
SELECT count(*), coalesce(sum(hash(network, account, line_id, event_date, event_at, status,
       sale_amount, commission_amount, currency, quantity, program, product_id, product_name,
       tracking_id, order_id, original_line_id))::HUGEINT, 0)
FROM commissions
"""
_MONTHS = """
SELECT date_trunc('month', event_date) AS month, currency, count(*),
       sum(sale_amount), sum(commission_amount)
FROM commissions GROUP BY ALL ORDER BY ALL
"""
# Audit rows without what names the run (its id and clock): the same changes, whoever ran them.
_AUDIT = """
SELECT change, count(*), coalesce(sum(hash(network, account, line_id, change, old_status,
       new_status, old_sale_amount, new_sale_amount, old_commission_amount,
       new_commission_amount, currency, event_date))::HUGEINT, 0)
FROM commission_changes GROUP BY ALL ORDER BY ALL
"""
_FILES = "SELECT content_hash, lines FROM source_files ORDER BY ALL"


@dataclass(frozen=True)
class LedgerState:
    """What a SQL user sees: lines, monthly sums, audit rows and remembered reports."""

    lines: tuple[object, ...]
    months: tuple[tuple[object, ...], ...]
    audit: tuple[tuple[object, ...], ...]
    files: tuple[tuple[object, ...], ...]


def read_state(db: Path) -> LedgerState:
    """The ledger as a plain DuckDB reader sees it (no project code on the way)."""
    with duckdb.connect(str(db), read_only=True) as con:
        lines = con.execute(_LEDGER).fetchone()
        assert lines is not None
        return LedgerState(
            tuple(lines),
            tuple(con.execute(_MONTHS).fetchall()),
            tuple(con.execute(_AUDIT).fetchall()),
            tuple(con.execute(_FILES).fetchall()),
        )


def ingest_command(report: Path, db: Path) -> list[str]:
    return [PASSIVE, "ingest", str(report), "--account", "me", "--db", str(db)]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class Files:
    """The ledger's files at one moment of a run, with what was seen before it."""

    db: int
    wal: int
    scratch: bool
    wal_peak: int
    wal_when_db_grew: int  # the WAL's size when the ledger file first grew (-1: not yet)


def watch(command: list[str], db: Path, stop: Callable[[Files, Files], bool]) -> tuple[int, int]:
    """Run `command`, polling the ledger's files; SIGKILL it once `stop(first, now)` holds.

    Returns (the process's exit status, the largest WAL size seen): -9 when it was killed.
    """
    env = {**os.environ, "PREFECT_API_URL": ""}
    wal, scratch = Path(f"{db}.wal"), Path(f"{db}.tmp")
    log = db.with_name(f"{db.name}.stderr")
    with log.open("w") as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        first = Files(_size(db), _size(wal), scratch.exists(), _size(wal), -1)
        peak, when_db_grew = first.wal, -1
        try:
            while process.poll() is None:
                size, size_db = _size(wal), _size(db)
                peak = max(peak, size)
                if when_db_grew < 0 and size_db > first.db:
                    when_db_grew = size
                now = Files(size_db, size, scratch.exists(), peak, when_db_grew)
                if stop(first, now):
                    os.kill(process.pid, signal.SIGKILL)
                    break
        finally:
            process.wait()
    assert process.returncode in (0, -signal.SIGKILL), log.read_text()
    return process.returncode, peak


def run_ingest(report: Path, db: Path) -> int:
    """Ingest to the end; the largest WAL size the run produced."""
    status, peak = watch(ingest_command(report, db), db, lambda first, now: False)
    assert status == 0
    return peak


@dataclass(frozen=True)
class Ledgers:
    """The restated report, the ledger before and after it is ingested, and the WAL it took."""

    restated: Path
    before: Path
    state_before: LedgerState
    state_after: LedgerState
    wal_peak: int


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> Ledgers:
    folder = tmp_path_factory.mktemp("kill")
    first, restated = folder / "first.csv", folder / "restated.csv"
    # Another seed: most lines of the period are replaced, so the load appends a bulk of new
    # lines AND removes as many (the shape that tore).
    for path, seed in ((first, 1), (restated, 2)):
        write_earnings_report(
            path,
            marketplace="US",
            period_start=PERIOD[0],
            period_end=PERIOD[1],
            lines=LINES,
            seed=seed,
        )
    before = folder / "before.duckdb"
    run_ingest(first, before)
    after = folder / "after.duckdb"
    shutil.copy(before, after)
    wal_peak = run_ingest(restated, after)
    state_before, state_after = read_state(before), read_state(after)
    assert state_before != state_after
    assert state_after.audit and {row[0] for row in state_after.audit} >= {"inserted", "removed"}
    return Ledgers(restated, before, state_before, state_after, wal_peak)


def _wal_reaches(share: float) -> Callable[[Ledgers], Callable[[Files, Files], bool]]:
    """Kill once the WAL reaches `share` of the size a clean run of the same ingest reached.

    The tear lived in the last ~1% of the load's WAL: the row-group pointers of its appends
    were written, the commit's flush marker was not.
    """
    return lambda ledgers: lambda first, now: now.wal >= max(1, int(ledgers.wal_peak * share))


# Each kill point: when, seen in the ledger's files, to SIGKILL the ingest (one run each).
KILL_POINTS: dict[str, Callable[[Ledgers], Callable[[Files, Files], bool]]] = {
    "the WAL first grows": lambda _: lambda first, now: now.wal > first.wal,
    "scratch files appear": lambda _: lambda first, now: now.scratch,
    "the ledger file first grows": lambda _: lambda first, now: now.db > first.db,
    # Bulk appends write their row groups into the file ahead of the commit, then the commit
    # writes the WAL: this is when a load's (first) big commit begins.
    "the WAL first grows after the ledger file did": lambda _: (
        lambda first, now: 0 <= now.wal_when_db_grew < now.wal
    ),
    "the WAL reaches half its peak": _wal_reaches(0.5),
    "the WAL reaches 90% of its peak": _wal_reaches(0.9),
    "the WAL reaches 99% of its peak": _wal_reaches(0.99),
    "the WAL reaches 99.5% of its peak": _wal_reaches(0.995),
    "the WAL reaches 99.9% of its peak": _wal_reaches(0.999),
    "the WAL shrinks (checkpoint)": lambda _: (
        lambda first, now: 0 < now.wal < now.wal_peak or (now.wal == 0 < now.wal_peak)
    ),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_killed_ingest_leaves_the_ledger_all_old_or_all_new(
    point: str, ledgers: Ledgers, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.duckdb"
    shutil.copy(ledgers.before, db)
    status, _ = watch(ingest_command(ledgers.restated, db), db, KILL_POINTS[point](ledgers))

    seen = read_state(db)
    assert seen in (ledgers.state_before, ledgers.state_after), (
        f"killed when {point} (exit {status}): the ledger is neither the old nor the new one"
    )

    # The next writer finds the dead run: interrupted, with when it was found; scratch gone.
    open_ledger(db, timeout=10).close()
    with duckdb.connect(str(db), read_only=True) as con:
        cut = con.execute(
            "SELECT status, finished_at IS NOT NULL FROM ingest_runs"
            " WHERE status NOT IN ('completed', 'completed_with_rejects')"
        ).fetchall()
    assert all(row == ("interrupted", True) for row in cut), cut
    assert len(cut) <= 1
    assert not Path(f"{db}.tmp").exists()
    assert read_state(db) == seen

    # Running the ingest again converges to the clean result, audit rows neither lost nor doubled.
    if seen != ledgers.state_after:
        run_ingest(ledgers.restated, db)
    assert read_state(db) == ledgers.state_after
