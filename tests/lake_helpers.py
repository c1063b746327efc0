"""What the DuckLake tests share: ledger specs, and a ledger's state as SQL users see it."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from warehouse.connection import ledger

PASSIVE = str(Path(sys.executable).parent / "passive")

# Everything a SQL user reads, without what names a run (ids and clocks differ per run):
# the lines, the audit rows, the remembered reports, cursors and payments.
STATE_QUERIES = {
    "commissions": "SELECT * EXCLUDE (first_run_id, last_run_id, updated_at) FROM commissions",
    "commission_changes": "SELECT * EXCLUDE (run_id, changed_at) FROM commission_changes",
    "source_files": "SELECT * EXCLUDE (run_id, ingested_at) FROM source_files",
    # (the cursor itself is the clock time a pull ran to)
    "ingest_state": "SELECT network, account, stream FROM ingest_state",
    "rejects": "SELECT * EXCLUDE (run_id, rejected_at) FROM rejects",
    "payments": "SELECT * EXCLUDE (first_run_id, last_run_id, updated_at) FROM payments",
    "payment_items": "SELECT * FROM payment_items",
    "commission_terms": (
        "SELECT * EXCLUDE (first_run_id, last_run_id, updated_at) FROM commission_terms"
    ),
    "fx_rates": "SELECT day, currency, per_eur FROM fx_rates",
}


def sqlite_lake(folder: Path, name: str = "ledger") -> str:
    """A DuckLake ledger with a SQLite catalog in `folder` (data in `<name>-data/` beside it)."""
    return f"ducklake:sqlite:{folder / f'{name}.sqlite'}"


def state(db: str | Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of STATE_QUERIES, rows sorted (order is no part of a ledger)."""
    with ledger(db, read_only=True) as con:
        return {
            name: sorted(con.execute(q).fetchall(), key=repr) for name, q in STATE_QUERIES.items()
        }


def quiet() -> Console:
    """A console whose output goes nowhere (the demo's printing is not under test here)."""
    return Console(file=io.StringIO())


def passive(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `passive ARGS...` in-process-free (no Prefect server: runs in the process)."""
    return subprocess.Popen(
        [PASSIVE, *args],
        env={**os.environ, "PREFECT_API_URL": "", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Wait for a `passive` process: its exit code and what it printed to stderr."""
    _, err = process.communicate()
    return process.returncode, err.decode(errors="replace")


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool]) -> int:
    """SIGKILL the process as soon as `ready()` holds (polled); its exit status."""
    try:
        while process.poll() is None:
            if ready():
                os.kill(process.pid, signal.SIGKILL)
                break
    finally:
        process.communicate()
    return process.returncode
