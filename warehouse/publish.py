"""Append-then-publish: a load's lines stay hidden until one small transaction makes them current.

DuckDB 1.5 can tear one big transaction that appends and deletes when the process dies while
its commit writes the WAL: the appended row groups come back, the deletes do not (wal_replay.cpp
merges row groups written ahead of the commit outside the replay's transaction;
duckdb/duckdb#25931; measured in issue 10). So a load runs in three steps:

1. `begin_load`: a tiny transaction records the load, unpublished, under a new `load_seq`.
2. the load appends its lines and audit rows tagged with that `load_seq` (warehouse/load.py);
   the `commissions` and `commission_changes` views hide them, so even a torn append is unseen.
3. `publish_load`: deletes the lines they replace and marks the load published, with the
   caller's bookkeeping, in one transaction without a bulk append: all or nothing.

`recover` runs whenever the ledger is opened for writing and sweeps what a dead process left.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse import sql

log = logging.getLogger(__name__)

# Runs and loads in progress in THIS process. DuckDB's file lock keeps other processes out
# while we hold the ledger for writing, but a second connection of the same process shares
# the open database (no lock between them): its runs are alive, not interrupted.
_live: dict[str, int] = {}
_live_lock = threading.Lock()


def mark_live(run_id: str) -> None:
    """Say a run of this process is in progress (`recover` leaves it alone)."""
    with _live_lock:
        _live[run_id] = _live.get(run_id, 0) + 1


def mark_done(run_id: str) -> None:
    """Undo one `mark_live` of the run."""
    with _live_lock:
        left = _live.get(run_id, 0) - 1
        if left > 0:
            _live[run_id] = left
        else:
            _live.pop(run_id, None)


def live_runs() -> list[str]:
    """The runs this process has in progress."""
    with _live_lock:
        return sorted(_live)


def _now() -> datetime:
    return datetime.now(UTC)


def _in_transaction(con: duckdb.DuckDBPyConnection, step: Callable[[], object]) -> None:
    con.begin()
    try:
        step()
        con.commit()
    except BaseException:
        # A failed COMMIT has already ended the transaction.
        with suppress(duckdb.TransactionException):
            con.rollback()
        raise


def begin_load(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Record a new, unpublished load (own transaction) and return its `load_seq`."""
    mark_live(run_id)
    try:
        _in_transaction(con, lambda: sql.execute(con, "load_begin", run_id=run_id, now=_now()))
    except BaseException:
        mark_done(run_id)
        raise
    row = con.execute(
        "SELECT max(load_seq) FROM ledger_loads WHERE run_id = ? AND NOT published", [run_id]
    ).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def publish_load(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    load_seq: int,
    bookkeeping: Callable[[duckdb.DuckDBPyConnection], None],
) -> None:
    """Retire replaced lines, publish the load and write `bookkeeping`, in ONE small transaction.

    `bookkeeping` must write only a few rows (a run record, a source file, a cursor): a bulk
    append here would bring back the tear this module exists to prevent.
    """

    def step() -> None:
        sql.execute(con, "load_publish", load_seq=load_seq)
        bookkeeping(con)

    # Should bookkeeping append more than a row group after all (a pull's payout terms, one per
    # new line), DuckDB 1.5.6 can keep it out of the file until the commit, so the WAL holds
    # the rows themselves and replays all or nothing. 1.5.5 lacks the setting.
    inline = _set_optimistic_writes(con, enabled=False)
    try:
        _in_transaction(con, step)
    finally:
        if inline:
            _set_optimistic_writes(con, enabled=True)
    mark_done(run_id)


def _set_optimistic_writes(con: duckdb.DuckDBPyConnection, *, enabled: bool) -> bool:
    """Turn DuckDB's optimistic writes of bulk appends on or off; False if it has no switch."""
    try:
        con.execute(f"SET SESSION enable_optimistic_write = {str(enabled).lower()}")
    except duckdb.CatalogException:
        return False
    return True


def discard_load(con: duckdb.DuckDBPyConnection, run_id: str, load_seq: int) -> None:
    """Delete what an unpublished load appended (it was never visible); `recover` retries it."""
    try:
        _in_transaction(
            con, lambda: sql.execute(con, "load_discard", run_id=run_id, load_seq=load_seq)
        )
    except duckdb.Error as error:
        log.warning("unpublished load %s not discarded (%s): swept on next open", load_seq, error)
    finally:
        mark_done(run_id)


def recover(con: duckdb.DuckDBPyConnection, db: Path) -> int:
    """Sweep what a dead writer left; return how many of its runs were found interrupted.

    Called right after the ledger was opened for writing: DuckDB holds the file's write lock
    for us (a second process gets "Could not set lock on file"), so a run still `running`
    that is not this process's own was left by a process that is gone.
    """
    live = live_runs()
    row = con.execute(
        "SELECT (SELECT count(*) FROM ingest_runs WHERE status = 'running'"
        "        AND NOT list_contains($live, run_id))"
        " + (SELECT count(*) FROM ledger_loads WHERE NOT published"
        "        AND NOT list_contains($live, run_id))",
        {"live": live},
    ).fetchone()
    dead = int(row[0]) if row else 0
    if dead:
        _in_transaction(con, lambda: sql.execute(con, "recover_interrupted", live=live, now=_now()))
        log.warning("%s: %d run(s) of a process that died were marked interrupted", db, dead)
    # Temp tables spill to `<ledger>.tmp` (DuckDB's default temp directory). A process killed
    # there leaves it behind, even after its load was published (the kill test's "ledger file
    # first grows" point). No other process can be using it now (we hold the write lock), and
    # every connection of this one shares this database, whose files in use DuckDB lists.
    scratch = Path(f"{db}.tmp")
    if not live and scratch.is_dir() and not _temporary_files_in_use(con):
        shutil.rmtree(scratch, ignore_errors=True)
    return dead


def _temporary_files_in_use(con: duckdb.DuckDBPyConnection) -> bool:
    row = sql.execute(con, "temporary_files_in_use").fetchone()
    return bool(row and row[0])
