"""What the DuckLake tests share: ledger specs, and a ledger's state as SQL users see it."""

from __future__ import annotations

import glob
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Postgres:
    """A throwaway PostgreSQL server on a unix socket (no TCP port to collide on)."""

    socket_dir: Path
    run_as: list[str]  # runuser prefix when we are root (initdb refuses root)

    def new_catalog(self, name: str) -> str:
        """A fresh database for one DuckLake catalog: its libpq connection string."""
        subprocess.run(
            [_pg_bin("createdb"), "-h", str(self.socket_dir), "-U", "postgres", name],
            check=True,
            capture_output=True,
        )
        return f"dbname={name} host={self.socket_dir} user=postgres"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [shutil.which(name)] if shutil.which(name) else []
    )
    return str(found[-1]) if found else ""


def postgres_missing() -> str | None:
    """Why no PostgreSQL server can be started here, or None."""
    missing = [name for name in ("initdb", "pg_ctl", "createdb") if not _pg_bin(name)]
    if missing:
        names = ", ".join(missing)
        return f"PostgreSQL server binaries not installed ({names}); .ci/run installs them"
    if os.geteuid() == 0 and not (shutil.which("runuser") and _has_user("postgres")):
        return "running as root without a `postgres` user to run initdb as"
    return None


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """initdb into a fresh folder, start the server on a socket there, stop and remove it after.

    The folder is made under /tmp directly: pytest's temp folders are private to root, where
    the server (run as `postgres` when we are root) could not reach them, and a socket path must
    stay short.
    """
    folder = Path(tempfile.mkdtemp(prefix="passive-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run(
        [*run_as, _pg_bin("initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
         "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-c listen_addresses='' -c unix_socket_directories={folder} -c fsync=off"
    control = [*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-l", str(folder / "log")]
    subprocess.run([*control, "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        yield Postgres(folder, run_as)
    finally:
        subprocess.run([*control, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
