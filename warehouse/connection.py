"""Opening the ledger file: lock retries with a clear message, and ordered migrations."""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

import duckdb

from warehouse.publish import recover
from warehouse.sql import split_statements

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VIEWS_DIR = Path(__file__).parent / "views"
DEFAULT_DB = "ledger.duckdb"
DEFAULT_LOCK_TIMEOUT = 30.0

# DuckDB's message when another process holds the file: "... Conflicting lock is held in
# /usr/bin/duckdb (PID 4242) by user me ...". We quote the holder back to the user.
_HOLDER = re.compile(r"held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


class _AbsentPandas(importlib.abc.MetaPathFinder):
    """`import pandas` fails at once where pandas is not installed (it is not ours to need).

    DuckDB's Python client tries to import pandas for each statement with bound parameters
    (its import cache does not remember a failure; duckdb/duckdb#5577 and #16414 are about
    the same lookups). Each failed import searched sys.path again and, while the validation
    thread held the GIL, waited for it: 124 such imports cost a 1M-line ingest ~0.15 s of
    wall time (`python -X importtime`). A None entry in sys.modules would say the same, but
    pyarrow's pandas shim then takes None for the module.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas":
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
        return None


def _pandas_known_absent() -> None:
    if importlib.util.find_spec("pandas") is None:
        sys.meta_path.insert(0, _AbsentPandas())


_pandas_known_absent()


class LedgerLockedError(RuntimeError):
    """Another process keeps the ledger file open for longer than we were willing to wait."""


class LedgerPathError(ValueError):
    """`--db` names something that cannot be a ledger file: a folder, a missing folder, or a
    file that is not a DuckDB database. Bad input: the CLI prints it as one line (exit 2)."""


# A DuckDB database file starts with an 8-byte checksum, then the magic bytes "DUCK"
# (DuckDB's storage format, MainHeader::MAGIC_BYTES at offset 8).
_DUCKDB_MAGIC = b"DUCK"
_MAGIC_OFFSET = 8


def check_ledger_path(db: str | os.PathLike[str] | None) -> Path:
    """The ledger path, or LedgerPathError saying in one line why it cannot be a ledger file.

    Checked before DuckDB opens it: DuckDB's own messages ("Cannot open file ...",
    "Is a directory") do not say that `--db` is the thing to change.
    """
    path = resolve_db_path(db)
    if path.is_dir():
        raise LedgerPathError(
            f"{path}: is a folder, not a ledger file; give a file such as --db {path / DEFAULT_DB}"
        )
    parent = path.parent
    if not parent.is_dir():
        raise LedgerPathError(
            f"{path}: the folder {parent} does not exist; create it or give another --db"
        )
    if path.is_file():
        with path.open("rb") as file:
            head = file.read(_MAGIC_OFFSET + len(_DUCKDB_MAGIC))
        if head[_MAGIC_OFFSET:] != _DUCKDB_MAGIC:
            what = "an empty file" if not head else "not a DuckDB database"
            raise LedgerPathError(
                f"{path}: {what}, not a ledger; give another --db, or remove the file "
                "to start a new ledger there"
            )
    return path


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    """`--db`, else `$PASSIVE_DB`, else ./ledger.duckdb (DESIGN.md, command line)."""
    return Path(db or os.environ.get("PASSIVE_DB") or DEFAULT_DB)


def lock_timeout() -> float:
    """Seconds to keep retrying a locked ledger (`PASSIVE_LOCK_TIMEOUT`, default 30)."""
    return float(os.environ.get("PASSIVE_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))


def _is_lock_error(error: duckdb.Error) -> bool:
    return "lock" in str(error).lower()


def _holder_hint(error: duckdb.Error) -> str:
    match = _HOLDER.search(str(error))
    if not match:
        return "another program has it open"
    return f"{Path(match['program']).name} (PID {match['pid']}) has it open"


def open_ledger(
    db: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """Open (for writers: migrate, then sweep a dead writer's leftovers) the ledger, waiting
    while another process holds it.

    DuckDB allows one writing process or many reading ones per file; a user's `duckdb`
    shell on the file blocks us, so we retry for `timeout` seconds before giving up.
    """
    path = check_ledger_path(db)
    if read_only and not path.exists():
        raise FileNotFoundError(
            f"{path}: no ledger here yet; run `passive ingest` or `passive demo` first"
        )
    limit = lock_timeout() if timeout is None else timeout
    deadline = time.monotonic() + limit
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.Error as error:
            if not _is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise LedgerLockedError(
                    f"{path}: the ledger is locked: {_holder_hint(error)}. Close that program "
                    f"(a duckdb shell, notebook or other `passive` run) and try again; "
                    f"waited {limit:.0f} s (PASSIVE_LOCK_TIMEOUT)."
                ) from None
            sleep(delay)
            delay = min(delay * 2, 2.0)
    if not read_only:
        try:
            migrate(con)
            recover(con, path)
        except BaseException:
            con.close()
            raise
    return con


@contextmanager
def ledger(
    db: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    timeout: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`open_ledger` as a context manager that always closes the file."""
    con = open_ledger(db, read_only=read_only, timeout=timeout)
    try:
        yield con
    finally:
        con.close()


def _scripts() -> list[tuple[str, str]]:
    """Migrations in file-name order, then the views (re-applied whenever their text changes)."""
    found = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]
    found += [
        (f"views/{p.name}", p.read_text(encoding="utf-8")) for p in sorted(VIEWS_DIR.glob("*.sql"))
    ]
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations and changed views in one transaction; return what ran."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " name VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = dict(con.execute("SELECT name, sha256 FROM _migrations").fetchall())
    pending = []
    for name, text in _scripts():
        digest = hashlib.sha256(text.encode()).hexdigest()
        if applied.get(name) == digest:
            continue
        if name in applied and not name.startswith("views/"):
            raise RuntimeError(f"migration {name} was edited after it was applied; add a new one")
        pending.append((name, text, digest))
    if not pending:
        return []
    con.begin()
    try:
        for name, text, digest in pending:
            for statement in split_statements(text):
                con.execute(statement)
            con.execute("INSERT OR REPLACE INTO _migrations VALUES (?, ?, now())", [name, digest])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return [name for name, _, _ in pending]
