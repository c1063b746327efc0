"""The scale-out ledger: `ducklake:<catalog>` opens the same schema as a DuckLake (catalog in
SQLite or PostgreSQL, data as Parquet files), with extensions loaded from installed wheels."""

from __future__ import annotations

import atexit
import fcntl
import importlib.util
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from warehouse import sql

log = logging.getLogger(__name__)

PREFIX = "ducklake:"
ALIAS = "ledger"
DATA_PATH_ENV = "PASSIVE_DATA_PATH"

# Each extension comes from its PyPI wheel (pinned with DuckDB in pyproject.toml): the wheel
# holds the binary at <package>/extensions/v<duckdb version>/<name>.duckdb_extension, and
# `LOAD '<that file>'` needs no download and no extension directory. Autoinstall stays off
# for the connection, so a missing wheel is an error here, never a fetch from the network.
_WHEELS = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}
# A data path in object storage: DuckDB reaches it through httpfs.
REMOTE = ("s3://", "s3a://", "s3n://", "gs://", "gcs://", "r2://", "http://", "https://")


class LakeSpecError(ValueError):
    """`--db ducklake:...` that cannot name a DuckLake catalog (one line, CLI exit 2)."""


@dataclass(frozen=True)
class LakeSpec:
    """A parsed `ducklake:<catalog>`: the catalog as DuckDB's ATTACH takes it, its data path."""

    catalog: str  # "sqlite:/abs/ledger.sqlite" or "postgres:dbname=... host=..."
    kind: str  # "sqlite" or "postgres"
    data_path: str | None  # None: the one the catalog already remembers

    @property
    def catalog_file(self) -> Path | None:
        """The SQLite catalog file (None for a Postgres catalog)."""
        return Path(self.catalog.split(":", 1)[1]) if self.kind == "sqlite" else None

    def __str__(self) -> str:
        return f"{PREFIX}{self.catalog}"


def is_lake(db: str | os.PathLike[str] | None) -> bool:
    """Whether `--db` / $PASSIVE_DB names a DuckLake ledger rather than a DuckDB file."""
    return db is not None and os.fspath(db).startswith(PREFIX)


def parse(db: str | os.PathLike[str]) -> LakeSpec:
    """`ducklake:sqlite:PATH` or `ducklake:postgres:CONNINFO`; data path from
    $PASSIVE_DATA_PATH, else (SQLite) `<catalog name without suffix>-data/` beside it."""
    text = os.fspath(db)[len(PREFIX) :]
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("sqlite", "postgres") or not rest.strip():
        raise LakeSpecError(
            f"{os.fspath(db)}: expected ducklake:sqlite:PATH (e.g. ducklake:sqlite:ledger.sqlite)"
            " or ducklake:postgres:CONNINFO (e.g. ducklake:postgres:dbname=passive host=db)"
        )
    data_path = os.environ.get(DATA_PATH_ENV) or None
    if kind == "sqlite":
        file = Path(rest).expanduser().resolve()
        if file.is_dir():
            raise LakeSpecError(f"{file}: is a folder; give the catalog file, e.g. {file}.sqlite")
        if not file.parent.is_dir():
            raise LakeSpecError(f"{file}: the folder {file.parent} does not exist")
        _check_sqlite_file(file)
        if data_path is None:
            data_path = str(file.with_name(f"{file.stem}-data")) + os.sep
        return LakeSpec(f"sqlite:{file}", kind, _as_folder(data_path))
    return LakeSpec(f"postgres:{rest.strip()}", kind, _as_folder(data_path) if data_path else None)


# The first 16 bytes of every SQLite database file (sqlite.org/fileformat.html, 1.3.1).
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_sqlite_file(file: Path) -> None:
    """Refuse an existing catalog file that is not a SQLite database, as the file ledger
    refuses a --db that is not a DuckDB file (warehouse/connection.check_ledger_path):
    DuckLake's own error is a traceback about "PRAGMA journal_mode=WAL"."""
    if not file.is_file():
        return
    head = _sqlite_head(file)
    if head != _SQLITE_MAGIC:
        what = "an empty file" if not head else "not a SQLite database"
        raise LakeSpecError(
            f"{file}: {what}, not a DuckLake catalog; give another --db, or remove the file "
            "to start a new ledger there"
        )


# How long an empty catalog file may stay empty while another writer creates it.
_CREATING_GRACE = 3.0


def _sqlite_head(file: Path) -> bytes:
    """The file's first 16 bytes, looked at again for a moment while it is empty: SQLite
    creates a new catalog's file empty and writes its header a moment later (when DuckLake's
    ATTACH sets WAL mode), so a second writer starting at once saw "an empty file" (CI, four
    writers opening one new lake)."""
    deadline = time.monotonic() + _CREATING_GRACE
    while True:
        with file.open("rb") as opened:
            head = opened.read(len(_SQLITE_MAGIC))
        if head or time.monotonic() >= deadline:
            return head
        time.sleep(0.05)


def absolute(db: str | os.PathLike[str]) -> str:
    """The spec with a SQLite catalog's path made absolute (for deployments run elsewhere)."""
    return str(parse(db))


def _as_folder(path: str) -> str:
    if "://" not in path:
        path = str(Path(path).expanduser().resolve())
    return path if path.endswith(("/", os.sep)) else path + "/"


def extension_file(name: str) -> Path:
    """The `.duckdb_extension` file the installed wheel ships for this DuckDB version."""
    package = _WHEELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {package} package is not installed (uv sync installs it)")
    file = (
        Path(next(iter(spec.submodule_search_locations)))
        / "extensions"
        / f"v{duckdb.__version__}"
        / f"{name}.duckdb_extension"
    )
    if not file.is_file():
        raise RuntimeError(
            f"{file}: {package} does not match DuckDB {duckdb.__version__}; pin both to one version"
        )
    return file


def exists(spec: LakeSpec) -> bool:
    """Whether the catalog is there to read (a Postgres catalog is assumed to be)."""
    file = spec.catalog_file
    return file is None or file.is_file()


DEFAULT_COMMIT_RETRIES = 12

# What DuckLake and its catalogs say when another writer's commit got in first: a logical
# conflict, a snapshot id taken (retried inside DuckLake up to ducklake_max_retry_count), or
# SQLite's "database is locked" when a reader's snapshot went stale (duckdb/ducklake#1309).
_CONFLICT = ("conflict", "database is locked", "failed to commit ducklake transaction")
# ...and, while two writers create a new catalog at once, the loser's view of the winner's.
_CREATING = ("already exists", "duplicate key")


def is_conflict(error: BaseException) -> bool:
    """Whether an error means "another writer committed first: run the step again"."""
    return isinstance(error, duckdb.Error) and any(
        marker in str(error).lower() for marker in _CONFLICT
    )


def commit_retries() -> int:
    """Attempts after the first for a conflicting commit (`PASSIVE_COMMIT_RETRIES`, default 12)."""
    return int(os.environ.get("PASSIVE_COMMIT_RETRIES", DEFAULT_COMMIT_RETRIES))


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): doubling from 50 ms up to 2 s, with
    full jitter so writers that collided do not collide again in step."""
    return random.uniform(0, min(2.0, 0.05 * 2 ** (attempt - 1)))


# One DuckDB instance per lake (and mode) per process, kept for the process's life: loading
# the extensions into a new instance took ~0.5 s, and a pull opens the ledger four times.
_instances: dict[tuple[str, str | None, bool], duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def connect(spec: LakeSpec, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the lake, attached as `ledger` and in use.

    Each call gets a connection of its own (own transactions, own TEMP tables: a load's
    scratch never meets another's) to this process's instance for the lake, made on first use.
    Writers that create a new catalog at the same moment collide; the others attach again once
    it is there.
    """
    key = (str(spec), spec.data_path, read_only)
    with _instances_lock:
        anchor = _instances.get(key)
        if anchor is None:
            anchor = _attach_retrying(spec, read_only=read_only)
            _instances[key] = anchor
    con = anchor.cursor()
    con.execute(f"USE {ALIAS}")
    return con


def once_per_process(spec: LakeSpec, run: Callable[[], object]) -> None:
    """Run `run` (the migration) the first time this process opens the lake for writing;
    later openers wait until it is done rather than see a schema half made."""
    with _migrating:
        if str(spec) not in _migrated:
            run()
            _migrated.add(str(spec))


_migrated: set[str] = set()
_migrating = threading.Lock()


def _attach_retrying(spec: LakeSpec, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    attempt = 0
    while True:
        try:
            return _connect(spec, read_only=read_only)
        except duckdb.Error as error:
            text = str(error).lower()
            if not (is_conflict(error) or any(marker in text for marker in _CREATING)):
                raise
            attempt += 1
            if attempt > commit_retries():
                raise
            wait = backoff(attempt)
            log.warning("%s: attaching collided with another writer; retry %d", spec, attempt)
            time.sleep(wait)


def _connect(spec: LakeSpec, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    scratch = tempfile.mkdtemp(dir=_process_scratch())
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "temp_directory": scratch,
        },
    )
    try:
        con.execute(f"LOAD '{extension_file('ducklake')}'")
        con.execute(f"LOAD '{extension_file(spec.kind + '_scanner')}'")
        if spec.kind == "postgres" or (spec.data_path or "").startswith(REMOTE):
            # Several machines share a Postgres catalog through object storage, mostly; and
            # a catalog remembers its data path, so a remote one may come without being named.
            con.execute(f"LOAD '{extension_file('httpfs')}'")
            _s3_secret(con)
        options = []
        if spec.kind == "sqlite":
            # WAL: readers never block a writer's commit. Concurrent commits can still meet
            # "database is locked" (DuckLake 1.5.5 does not retry it, duckdb/ducklake#1309);
            # warehouse/publish.py retries those transactions as a whole.
            options += ["META_JOURNAL_MODE 'WAL'", "META_BUSY_TIMEOUT 5000"]
        if spec.data_path is not None and not read_only:
            options.append(f"DATA_PATH {_quote(spec.data_path)}")
        if read_only:
            options.append("READ_ONLY")
        # Small writes go to Parquet like large ones: inlined rows would live in the catalog
        # until a CHECKPOINT, and every writer would contend for the catalog's rows.
        options.append("DATA_INLINING_ROW_LIMIT 0")
        try:
            con.execute(f"ATTACH {_quote(str(spec))} AS {ALIAS} ({', '.join(options)})")
        except duckdb.InvalidInputException as error:
            text = str(error)
            if "data_path is not set" in text:
                raise LakeSpecError(
                    f"{spec}: a new DuckLake ledger needs a data path: set {DATA_PATH_ENV} to a"
                    " folder or an s3://bucket/prefix/ (the catalog remembers it after)"
                ) from None
            if "does not exist" in text and read_only:
                raise FileNotFoundError(
                    f"{spec}: no ledger here yet; run `passive ingest` or `passive demo` first"
                ) from None
            raise
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return con


@cache
def _process_scratch() -> str:
    """This process's folder for the spill files of its lake connections (one sub-folder
    each: two DuckDB instances must not share one), removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="passive-lake-")
    atexit.register(remove_process_scratch)
    return folder


def remove_process_scratch() -> None:
    """Remove this process's spill folder, if it made one: at exit, and from a command that
    ends with `os._exit` (flows.foreground.exit_now), which runs no atexit handler."""
    if _process_scratch.cache_info().currsize:
        shutil.rmtree(_process_scratch(), ignore_errors=True)


def _s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """An S3 secret for this connection from the usual AWS variables, when they are set.

    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_REGION or
    AWS_DEFAULT_REGION, and for an S3-compatible store (MinIO, R2, Ceph) AWS_ENDPOINT_URL,
    e.g. http://minio:9000, reached path-style.
    """
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    if not key:
        return
    options = {
        "TYPE": "s3",
        "KEY_ID": key,
        "SECRET": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
    }
    if token := os.environ.get("AWS_SESSION_TOKEN"):
        options["SESSION_TOKEN"] = token
    if endpoint := os.environ.get("AWS_ENDPOINT_URL"):
        scheme, _, host = endpoint.rpartition("://")
        options |= {
            "ENDPOINT": host.rstrip("/"),
            "URL_STYLE": "path",
            "USE_SSL": "false" if scheme == "http" else "true",
        }
    body = ", ".join(
        f"{name} {value if name in ('TYPE', 'USE_SSL') else _quote(value)}"
        for name, value in options.items()
    )
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET passive_s3 ({body})")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- The migrations as DuckLake takes them --------------------------------------------------
# DuckLake has no PRIMARY KEY, UNIQUE or CHECK constraints (nor indexes, sequences, ENUMs or
# non-literal defaults; the migrations use none of those). The file migrations stay the one
# source of truth: their constraints are dropped here, and tests/unit/test_lake_schema.py
# checks that both ledgers end up with the same tables, columns and types.

_TABLE_KEY = re.compile(r",\s*\n\s*PRIMARY KEY\s*\([^)]*\)", re.IGNORECASE)
_COLUMN_KEY = re.compile(r"\s+PRIMARY KEY\b(?!\s*\()", re.IGNORECASE)
_CHECK = re.compile(r"\s+CHECK\s*\(", re.IGNORECASE)


def lake_variant(text: str) -> str:
    """A migration's SQL without the constraints DuckLake refuses."""
    text = _TABLE_KEY.sub("", text)
    text = _COLUMN_KEY.sub(" NOT NULL", text)  # a key column is NOT NULL; keep that
    out: list[str] = []
    position = 0
    for match in _CHECK.finditer(text):
        if match.start() < position:
            continue  # a CHECK inside a CHECK already removed
        out.append(text[position : match.start()])
        depth, index = 1, match.end()
        while depth:
            if text[index] == "(":
                depth += 1
            elif text[index] == ")":
                depth -= 1
            index += 1
        position = index
    out.append(text[position:])
    return "".join(out)


def attached(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection's ledger is a DuckLake (else a DuckDB file)."""
    return catalog(con) is not None


def catalog(con: duckdb.DuckDBPyConnection) -> str | None:
    """The connection's DuckLake catalog as attached ("sqlite:/abs/ledger.sqlite"), else None."""
    row = sql.execute(con, "lake_catalog").fetchone()
    return str(row[0]) if row else None


@contextmanager
def commit_turn(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """On a SQLite catalog, one transaction at a time across this machine's processes.

    DuckLake 1.5.5 on SQLite fails every commit that overlapped another one, appends included
    (duckdb/ducklake#1309): with 4 processes pulling 100 accounts, 23 gave up after all their
    retries. A SQLite catalog lives on one machine, so a lock file beside it lets its writers
    take turns instead; a Postgres catalog keeps concurrent commits (conflicts are retried).
    """
    name = catalog(con)
    held: set[str] = _turns.__dict__.setdefault("held", set())
    if name is None or not name.startswith("sqlite:") or name in held:
        yield  # a file ledger, a Postgres catalog, or this thread's turn already
        return
    with open(f"{name.split(':', 1)[1]}.commits", "a") as turn:
        # flock is per open file: threads of one process, each opening it, take turns too.
        fcntl.flock(turn, fcntl.LOCK_EX)
        held.add(name)
        try:
            yield
        finally:
            held.discard(name)
            fcntl.flock(turn, fcntl.LOCK_UN)


_turns = threading.local()
