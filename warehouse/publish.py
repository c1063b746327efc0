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

On a DuckLake (warehouse/lake.py) several processes write at once. Appends of different
writers never conflict there, but a commit that deletes or updates (a publish, a run record)
fails when another writer committed meanwhile: `transaction` runs such a step again from the
start, a bounded number of times with growing, jittered waits, and logs each retry. Only the
small publish usually meets that; the big append is retried only on a SQLite catalog, where
any commit that overlapped another fails (duckdb/ducklake#1309, not fixed in 1.5.5).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from warehouse import lake, sql
from warehouse.lake import backoff, commit_retries, is_conflict

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


class CommitConflictError(RuntimeError):
    """A DuckLake write still conflicted with other writers after every retry."""


def transaction(
    con: duckdb.DuckDBPyConnection,
    step: Callable[[], object],
    *,
    what: str,
    exclusive: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run `step` in one transaction; on a commit conflict, roll back and run it again.

    `step` must be safe to repeat: it re-reads what it needs and (re)creates its scratch.
    `exclusive`: on a DuckLake, the step inserts keys it checked were absent, so it must not
    commit beside another such step (sql/writer_turn.sql); a file ledger has one writer.
    """
    turn = exclusive and lake.attached(con)
    attempt = 0
    while True:
        try:
            with lake.commit_turn(con):
                con.begin()
                try:
                    if turn:
                        sql.execute(con, "writer_turn")
                    step()
                    con.commit()
                    return
                except BaseException:
                    # A failed COMMIT has already ended the transaction.
                    with suppress(duckdb.TransactionException):
                        con.rollback()
                    raise
        except BaseException as error:
            if not is_conflict(error):
                raise
            attempt += 1
            if attempt > commit_retries():
                raise CommitConflictError(
                    f"{what}: other writers kept committing first; gave up after "
                    f"{attempt} attempts (PASSIVE_COMMIT_RETRIES): {str(error).splitlines()[0]}"
                ) from error
            wait = backoff(attempt)
            log.warning(
                "%s: commit conflict with another writer (%s); retry %d in %.2f s",
                what,
                str(error).splitlines()[-1][:200],
                attempt,
                wait,
            )
            sleep(wait)


def writer() -> dict[str, object]:
    """This process as ledger_writers records it: host, pid and the process's start time."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "process_started": _started(os.getpid()),
    }


def _started(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name (field 2) may hold spaces, so split after it.
    return stat.rsplit(")", 1)[1].split()[19]


def _writer_gone(host: str | None, pid: int | None, started: str | None, since: datetime) -> bool:
    """Whether the process that wrote a run is no longer running.

    Same host: its pid is gone, or is now another process. Another host cannot be asked: its
    run counts as gone once older than `PASSIVE_STALE_RUN_HOURS` (default 24).
    """
    if host == socket.gethostname() and pid is not None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, another user's
        return started is not None and _started(pid) not in (None, started)
    hours = float(os.environ.get("PASSIVE_STALE_RUN_HOURS", 24))
    return _now() - since > timedelta(hours=hours)


def begin_load(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    network: str | None = None,
    account: str | None = None,
) -> int:
    """Record a new, unpublished load (own transaction) and return its `load_seq`."""
    mark_live(run_id)
    on_lake = lake.attached(con)
    seq = secrets.randbits(62) if on_lake else None
    try:
        transaction(
            con,
            lambda: sql.execute(
                con,
                "load_begin",
                load_seq=seq,
                run_id=run_id,
                now=_now(),
                network=network,
                account=account,
                **writer(),
            ),
            what=f"starting load of run {run_id}",
        )
    except BaseException:
        mark_done(run_id)
        raise
    if seq is not None:
        return seq
    row = sql.execute(con, "load_seq_of", run_id=run_id).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def publish_load(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    load_seq: int,
    bookkeeping: Callable[[duckdb.DuckDBPyConnection], None],
    *,
    still_current: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> None:
    """Retire replaced lines, publish the load and write `bookkeeping`, in ONE small transaction.

    `bookkeeping` must write only a few rows (a run record, a source file, a cursor): a bulk
    append here would bring back the tear this module exists to prevent. `still_current` may
    raise (before anything is written) when the load was computed against a ledger that has
    moved on meanwhile; the transaction is then rolled back and the load stays unpublished.
    """

    def step() -> None:
        if still_current is not None:
            still_current(con)
        sql.execute(con, "load_publish", load_seq=load_seq)
        bookkeeping(con)

    # Should bookkeeping append more than a row group after all (a pull's payout terms, one per
    # new line), DuckDB 1.5.6 can keep it out of the file until the commit, so the WAL holds
    # the rows themselves and replays all or nothing. 1.5.5 lacks the setting, and 1.5.5 is
    # what pyproject pins (the newest DuckDB with extension wheels: warehouse/lake.py), so
    # for now the bookkeeping's smallness is the whole guard.
    inline = _set_optimistic_writes(con, enabled=False)
    try:
        transaction(con, step, what=f"publishing load {load_seq} of run {run_id}")
    finally:
        if inline:
            _set_optimistic_writes(con, enabled=True)
    mark_done(run_id)


def _set_optimistic_writes(con: duckdb.DuckDBPyConnection, *, enabled: bool) -> bool:
    """Turn DuckDB's optimistic writes of bulk appends on or off; False if it has no switch."""
    try:
        sql.execute(con, "optimistic_writes_on" if enabled else "optimistic_writes_off")
    except duckdb.CatalogException:
        return False
    return True


def discard_load(
    con: duckdb.DuckDBPyConnection, run_id: str, load_seq: int, *, done: bool = True
) -> None:
    """Delete what an unpublished load appended (it was never visible); `recover` retries it.

    `done=False` keeps the run marked live (its load is about to be redone).
    """
    try:
        transaction(
            con,
            lambda: sql.execute(con, "load_discard", run_id=run_id, load_seq=load_seq),
            what=f"discarding load {load_seq} of run {run_id}",
        )
    except duckdb.Error as error:
        log.warning("unpublished load %s not discarded (%s): swept on next open", load_seq, error)
    except CommitConflictError as error:
        log.warning("unpublished load %s not discarded (%s): swept on next open", load_seq, error)
    finally:
        if done:
            mark_done(run_id)


def recover(con: duckdb.DuckDBPyConnection, db: Path) -> int:
    """Sweep what a dead writer left; return how many of its runs were found interrupted.

    Called right after the ledger was opened for writing: DuckDB holds the file's write lock
    for us (a second process gets "Could not set lock on file"), so a run still `running`
    that is not this process's own was left by a process that is gone.
    """
    live = live_runs()
    row = sql.execute(con, "recover_dead_count", live=live).fetchone()
    dead = int(row[0]) if row else 0
    if dead:
        transaction(
            con,
            lambda: sql.execute(con, "recover_interrupted", live=live, now=_now()),
            what="recovering interrupted runs",
        )
        log.warning("%s: %d run(s) of a process that died were marked interrupted", db, dead)
    # Temp tables spill to `<ledger>.tmp` (DuckDB's default temp directory). A process killed
    # there leaves it behind, even after its load was published (the kill test's "ledger file
    # first grows" point). No other process can be using it now (we hold the write lock), and
    # every connection of this one shares this database, whose files in use DuckDB lists.
    scratch = Path(f"{db}.tmp")
    if not live and scratch.is_dir() and not _temporary_files_in_use(con):
        shutil.rmtree(scratch, ignore_errors=True)
    return dead


def recover_lake(con: duckdb.DuckDBPyConnection, label: str) -> int:
    """`recover` for a DuckLake: other writers may be at work, so only the runs and loads of
    writers that are gone (`_writer_gone`) are swept; a live writer's stay as they are."""
    mine = live_runs()
    candidates = sql.execute(con, "recover_candidates", live=mine).fetchall()
    dead = [
        str(run_id)
        for run_id, since, host, pid, started in candidates
        if _writer_gone(host, None if pid is None else int(pid), started, since)
    ]
    if not dead:
        return 0
    spared = mine + [str(row[0]) for row in candidates if str(row[0]) not in dead]
    transaction(
        con,
        lambda: sql.execute(con, "recover_interrupted", live=spared, now=_now()),
        what="recovering interrupted runs",
    )
    log.warning("%s: %d run(s) of a process that died were marked interrupted", label, len(dead))
    return len(dead)


def _temporary_files_in_use(con: duckdb.DuckDBPyConnection) -> bool:
    row = sql.execute(con, "temporary_files_in_use").fetchone()
    return bool(row and row[0])
