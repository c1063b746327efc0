"""Opening the ledger (a DuckDB file, or a DuckLake: warehouse/lake.py): lock retries with a
clear message, and ordered migrations."""

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

from warehouse import lake, sql
from warehouse.publish import recover, recover_lake, transaction
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
    "Is a directory") do not say that `--db` is the thing to change. A `ducklake:` spec is
    checked by warehouse/lake.py and returned as it was given.
    """
    path = resolve_db_path(db)
    if lake.is_lake(path):
        try:
            lake.parse(path)
        except lake.LakeSpecError as error:
            raise LedgerPathError(str(error)) from None
        return path
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
    """`--db`, else `$PASSIVE_DB`, else ./ledger.duckdb (DESIGN.md, command line).

    A `ducklake:<catalog>` spec comes back as a Path too (its text unchanged): callers pass
    it on, and open_ledger / ledger_exists / absolute_ledger know it.
    """
    return Path(db or os.environ.get("PASSIVE_DB") or DEFAULT_DB)


def ledger_exists(db: str | os.PathLike[str] | None) -> bool:
    """Whether there is a ledger to read: the file, or the DuckLake catalog."""
    path = resolve_db_path(db)
    if lake.is_lake(path):
        try:
            return lake.exists(lake.parse(path))
        except lake.LakeSpecError:
            return False  # opening it says why, in one line
    return path.exists()


def absolute_ledger(db: str | os.PathLike[str] | None) -> str:
    """The ledger as a process started elsewhere must be told it: an absolute file path, or
    the `ducklake:` spec with a SQLite catalog's path made absolute."""
    path = resolve_db_path(db)
    if lake.is_lake(path):
        return lake.absolute(path)
    return str(path.expanduser().resolve())


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
    if lake.is_lake(path):
        return _open_lake(lake.parse(path), read_only=read_only)
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


def _open_lake(spec: lake.LakeSpec, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Attach a DuckLake ledger; writers migrate it and sweep what dead writers left.

    No lock to wait for: writers of different accounts run side by side, their commits retried
    on conflict (warehouse/publish.py).
    """
    if read_only and not lake.exists(spec):
        raise FileNotFoundError(
            f"{spec}: no ledger here yet; run `passive ingest` or `passive demo` first"
        )
    try:
        con = lake.connect(spec, read_only=read_only)
    except lake.LakeSpecError as error:
        raise LedgerPathError(str(error)) from None
    if not read_only:
        try:
            lake.once_per_process(spec, lambda: migrate(con))
            recover_lake(con, str(spec))
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
    """Apply pending migrations and changed views in one transaction; return what ran.

    On a DuckLake the constraints DuckLake lacks are left out (lake.lake_variant); the digest
    recorded is the file's, so an edited migration is caught the same way. Two writers opening
    a new lake at once conflict on the commit: the loser retries, finds nothing pending.
    """
    on_lake = lake.attached(con)
    ran: list[str] = []

    def step() -> None:
        ran.clear()
        sql.execute(con, "migrations_table")
        applied = dict(sql.execute(con, "migrations_applied").fetchall())
        for name, text in _scripts():
            digest = hashlib.sha256(text.encode()).hexdigest()
            if applied.get(name) == digest:
                continue
            if name in applied and not name.startswith("views/"):
                raise RuntimeError(
                    f"migration {name} was edited after it was applied; add a new one"
                )
            for statement in split_statements(lake.lake_variant(text) if on_lake else text):
                con.execute(statement)
            sql.execute(con, "migration_record", migration=name, digest=digest)
            ran.append(name)

    if on_lake or _pending(con):
        transaction(con, step, what="migrating the ledger")
    return list(ran)


def _pending(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a file ledger has a migration or view to apply (no transaction when not)."""
    sql.execute(con, "migrations_table")
    applied = dict(sql.execute(con, "migrations_applied").fetchall())
    return any(
        applied.get(name) != hashlib.sha256(text.encode()).hexdigest() for name, text in _scripts()
    )
