"""Loading validated batches atomically: slice replace for reports, upsert for API records."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from schemas.validation import (
    LEDGER_ARROW_SCHEMA,
    ColumnarBatch,
    Reject,
    ValidatedBatch,
    lines_to_table,
)
from warehouse import sql
from warehouse.lake import backoff, commit_retries
from warehouse.publish import (
    CommitConflictError,
    begin_load,
    discard_load,
    publish_load,
    transaction,
)
from warehouse.runs import LoadResult as LoadResult  # re-exported for the load's callers
from warehouse.runs import new_run_id as new_run_id  # re-exported: run ids are the runs' own
from warehouse.runs import utc_now as utc_now
from warehouse.tuning import Tuning

log = logging.getLogger(__name__)

STAGE_SCHEMA = LEDGER_ARROW_SCHEMA
"""The stage table's columns: the ledger columns in CommissionLine order, then source_line."""

REJECTS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("network", pa.string()),
        ("account", pa.string()),
        ("locator", pa.string()),
        ("raw", pa.string()),
        ("reasons", pa.list_(pa.string())),
        ("rejected_at", pa.timestamp("us", tz="UTC")),
    ]
)


class LoadRefusedError(ValueError):
    """A load that was rolled back because it must not change the ledger (one-line reason)."""


class _OvertakenError(RuntimeError):
    """Another writer published a load of the same account after this load read the ledger."""


def replace_refusal(result: LoadResult) -> str | None:
    """Why a report may not replace its period, or None: a replace must never remove lines on
    the strength of a report that brought none, or whose data lines were mostly rejected.

    "Mostly" is more than half: more lines rejected than loaded. A report that removes nothing
    (a period the ledger does not hold yet) loads what it can, as ever.
    """
    if result.removed == 0:
        return None
    if result.loaded == 0:
        brought = (
            f"all {result.rejected} of its data lines were rejected"
            if result.rejected
            else "it has no data lines"
        )
    elif result.rejected > result.loaded:
        brought = (
            f"{result.rejected} of its {result.rejected + result.loaded} data lines were"
            " rejected (more than half)"
        )
    else:
        return None
    return f"{brought}, and loading it would remove {result.removed} lines the ledger holds"


def first_reject(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """The running load's first reject as (locator, first reason), for a refusal's message."""
    row = con.execute(
        "SELECT locator, reasons[1] FROM _load_rejects ORDER BY rowid LIMIT 1"
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


@dataclass(frozen=True)
class Slice:
    """The part of the ledger a report is the whole truth for: one account's lines in a period."""

    network: str
    account: str
    period_start: date
    period_end: date


def to_columnar(batch: ValidatedBatch | ColumnarBatch) -> ColumnarBatch:
    """A batch of models as columns (cheap to hold while a pull is in flight)."""
    if isinstance(batch, ColumnarBatch):
        return batch  # a bulk validator built the columns already
    return ColumnarBatch(
        lines_to_table(batch.lines, batch.source_lines),
        list(batch.rejects),
        batch.records_read,
        batch.terms,
    )


def _rejects_to_arrow(
    rejects: list[Reject], *, run_id: str, network: str, account: str | None, now: datetime
) -> pa.Table:
    return pa.Table.from_pydict(
        {
            "run_id": [run_id] * len(rejects),
            "network": [network] * len(rejects),
            "account": [account] * len(rejects),
            "locator": [r.locator for r in rejects],
            "raw": [r.raw for r in rejects],
            "reasons": [list(r.reasons) for r in rejects],
            "rejected_at": [now] * len(rejects),
        },
        schema=REJECTS_SCHEMA,
    )


def _stage(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[ValidatedBatch | ColumnarBatch],
    *,
    run_id: str,
    network: str,
    account: str | None,
    now: datetime,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None,
    fill_stage: Callable[[duckdb.DuckDBPyConnection], int] | None = None,
    in_read_order: bool = False,
) -> tuple[int, int]:
    """Stream batches into the scratch tables (autocommitted, see stage_create.sql); counts.

    `in_read_order` numbers source_line across batches (each batch's own numbers start
    again, e.g. at every API page) so the stage's order is the order records were read.
    """
    sql.execute(con, "stage_create")
    read = rejected = 0
    if fill_stage is not None:
        read += fill_stage(con)
    offset = 0
    for batch in batches:
        read += batch.records_read
        table = (batch if isinstance(batch, ColumnarBatch) else to_columnar(batch)).table
        if table.num_rows:
            con.register("_batch", table)
            con.execute(
                "INSERT INTO _load_rows BY NAME"
                " SELECT * REPLACE (source_line + $offset AS source_line) FROM _batch",
                {"offset": offset},
            )
            con.unregister("_batch")
            if in_read_order:
                last = pc.max(table.column("source_line")).as_py()
                offset += 0 if last is None else int(last) + 1
        if batch.rejects:
            rejected += len(batch.rejects)
            con.register(
                "_rejects",
                _rejects_to_arrow(
                    batch.rejects, run_id=run_id, network=network, account=account, now=now
                ),
            )
            con.execute("INSERT INTO _load_rejects SELECT * FROM _rejects")
            con.unregister("_rejects")
        if on_batch is not None:
            on_batch(batch)
    return read, rejected


def load_batches(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[ValidatedBatch | ColumnarBatch],
    *,
    run_id: str,
    network: str,
    account: str | None,
    mode: Literal["replace_slice", "upsert"],
    replace: Slice | None = None,
    now: datetime | None = None,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None = None,
    before_commit: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    fill_stage: Callable[[duckdb.DuckDBPyConnection], int] | None = None,
    check: Callable[[duckdb.DuckDBPyConnection, LoadResult], None] | None = None,
    tuning: Tuning | None = None,
) -> LoadResult:
    """Load every batch; the ledger shows all of it or, on any error or kill, none of it.

    `replace_slice` (Amazon reports) numbers identical lines and removes the slice's lines the
    report no longer has; `upsert` (API records) applies the latest state of each id.
    `before_commit` lets the caller write its own bookkeeping (source file, cursor) atomically
    with the publish (a few rows only: warehouse/publish.py says why).
    `fill_stage` lets SQL stage lines before the batches come (into `_load_rows`, or by
    replacing the `_load_stage` view over it: stage_create.sql); it returns how
    many records it read. `check` sees what the load did before anything commits and may
    raise (for example LoadRefusedError) to roll it all back; `_load_rejects` still holds
    the run's rejects then.
    `tuning` (default: from the environment) bounds its memory.
    """
    if mode == "replace_slice" and replace is None:
        raise ValueError("replace_slice needs the slice to replace")
    now = now or utc_now()
    tuning = tuning or Tuning()
    with _bounded_memory(con, tuning.memory_limit):
        try:
            read, rejected = _stage(
                con,
                batches,
                run_id=run_id,
                network=network,
                account=account,
                now=now,
                on_batch=on_batch,
                fill_stage=fill_stage,
                # API records change in place: the last one read of an id must win, even when
                # it came on a later page (incoming_latest.sql orders by source_line).
                in_read_order=mode == "upsert",
            )
            # Numbering or de-duplicating touches only scratch tables: it runs before the
            # ledger's transaction, so its work spills to disk instead of piling up uncommitted.
            if mode == "replace_slice":
                _number_report_lines(con, tuning.numbering_pass_lines)
            else:
                _with_more_memory_if_needed(con, "incoming_latest")
            result = _append_and_publish(
                con,
                mode=mode,
                replace=replace,
                run_id=run_id,
                network=network,
                account=account,
                now=now,
                read=read,
                rejected=rejected,
                check=check,
                before_commit=before_commit,
            )
        finally:
            # Scratch rows of a load that failed are not part of the ledger: drop them.
            _drop_scratch(con)
            con.execute("DROP TABLE IF EXISTS _load_rejects")
    return result


def _append_and_publish(
    con: duckdb.DuckDBPyConnection,
    *,
    mode: Literal["replace_slice", "upsert"],
    replace: Slice | None,
    run_id: str,
    network: str,
    account: str | None,
    now: datetime,
    read: int,
    rejected: int,
    check: Callable[[duckdb.DuckDBPyConnection, LoadResult], None] | None,
    before_commit: Callable[[duckdb.DuckDBPyConnection], None] | None,
) -> LoadResult:
    """Append the staged load under a new load_seq, then publish it.

    The append computed what changes against the ledger as it was when it ran. On a DuckLake
    another writer of the SAME account may publish in between (writers of other accounts touch
    other lines): then this load is discarded and appended again from the same stage, a bounded
    number of times (a file ledger has one writer: never).
    """
    attempt = 0
    while True:
        load_seq = begin_load(con, run_id, network=network, account=account)
        seen = [0]
        try:
            result = _append_load(
                con,
                mode=mode,
                replace=replace,
                run_id=run_id,
                load_seq=load_seq,
                now=now,
                read=read,
                rejected=rejected,
                check=check,
                seen=seen,
                network=network,
                account=account,
            )

            def still_current(c: duckdb.DuckDBPyConnection, seen: list[int] = seen) -> None:
                if _published_loads(c, network, account) != seen[0]:
                    raise _OvertakenError(f"{network}/{account}")

            def bookkeeping(c: duckdb.DuckDBPyConnection, result: LoadResult = result) -> None:
                # The run's outcome is published with its lines: a kill right after the
                # publish cannot leave a completed load behind a `running` run.
                sql.execute(
                    c,
                    "run_finish",
                    run_id=run_id,
                    status="completed_with_rejects" if result.rejected else "completed",
                    records_read=result.records_read,
                    lines_loaded=result.loaded,
                    lines_rejected=result.rejected,
                    lines_inserted=result.inserted,
                    lines_changed=result.changed,
                    lines_removed=result.removed,
                    message=None,
                    now=utc_now(),
                )
                if before_commit is not None:
                    before_commit(c)

            publish_load(con, run_id, load_seq, bookkeeping, still_current=still_current)
            return result
        except _OvertakenError:
            discard_load(con, run_id, load_seq)
            attempt += 1
            if attempt > commit_retries():
                raise CommitConflictError(
                    f"load of run {run_id}: other writers of {network}/{account} kept publishing"
                    f" first; gave up after {attempt} attempts (PASSIVE_COMMIT_RETRIES)"
                ) from None
            wait = backoff(attempt)
            log.warning(
                "load of run %s: another writer published %s/%s meanwhile; appending again"
                " (retry %d in %.2f s)",
                run_id,
                network,
                account,
                attempt,
                wait,
            )
            time.sleep(wait)
        except BaseException:
            discard_load(con, run_id, load_seq)
            raise


def _published_loads(con: duckdb.DuckDBPyConnection, network: str, account: str | None) -> int:
    row = sql.execute(con, "account_loads", network=network, account=account).fetchone()
    return int(row[0]) if row else 0


def _append_load(
    con: duckdb.DuckDBPyConnection,
    *,
    mode: Literal["replace_slice", "upsert"],
    replace: Slice | None,
    run_id: str,
    load_seq: int,
    now: datetime,
    read: int,
    rejected: int,
    check: Callable[[duckdb.DuckDBPyConnection, LoadResult], None] | None,
    seen: list[int],
    network: str,
    account: str | None,
) -> LoadResult:
    """Append the load's lines and audit rows, tagged and unseen until published (publish.py).

    One transaction, which may append in bulk: should a kill tear it, what it left is still
    tagged with an unpublished load_seq, hidden by the views and swept by `recover`. It reads
    only scratch tables and the ledger, and (re)creates its own scratch, so a commit conflict
    can run it again (publish.transaction). `seen` gets the account's published loads as the
    transaction saw them.
    """
    outcome: list[LoadResult] = []

    def step() -> None:
        outcome.clear()
        seen[0] = _published_loads(con, network, account)
        sql.execute(con, "load_retired_create")
        # An earlier attempt's `fresh` may be a view where this one makes a table (the ledger
        # held no line of the slice then, and does now).
        _drop_scratch(con, ("fresh", "moved"))
        outcome.append(
            _append_steps(
                con,
                mode=mode,
                replace=replace,
                run_id=run_id,
                load_seq=load_seq,
                now=now,
                read=read,
                rejected=rejected,
                check=check,
            )
        )

    transaction(con, step, what=f"appending load {load_seq} of run {run_id}")
    return outcome[0]


def _append_steps(
    con: duckdb.DuckDBPyConnection,
    *,
    mode: Literal["replace_slice", "upsert"],
    replace: Slice | None,
    run_id: str,
    load_seq: int,
    now: datetime,
    read: int,
    rejected: int,
    check: Callable[[duckdb.DuckDBPyConnection, LoadResult], None] | None,
) -> LoadResult:
    """The append's statements (inside `_append_load`'s transaction)."""
    con.execute("INSERT INTO rejects SELECT * FROM _load_rejects")
    removed = 0
    before = _count(con, replace) if replace is not None else None
    if mode == "replace_slice" and before == 0:
        sql.execute(con, "insert_fresh_slice", run_id=run_id, now=now, load_seq=load_seq)
    else:
        if mode == "replace_slice":
            assert replace is not None
            sql.execute(
                con,
                "replace_slice",
                run_id=run_id,
                now=now,
                load_seq=load_seq,
                network=replace.network,
                account=replace.account,
                period_start=replace.period_start,
                period_end=replace.period_end,
            )
            row = con.execute("SELECT count(*) FROM _load_retired").fetchone()
            removed = int(row[0]) if row else 0
        sql.execute(con, "upsert", run_id=run_id, now=now, load_seq=load_seq)
        sql.execute(con, "insert_fresh", run_id=run_id, now=now, load_seq=load_seq)
    row = con.execute(sql.statements("load_counts")[0]).fetchone()
    assert row is not None
    loaded, inserted, changed = (int(v) for v in row)
    result = LoadResult(read, loaded, rejected, inserted, changed, removed)
    if check is not None:
        check(con, result)
    return result


# DuckDB's default memory limit is 80% of RAM. A load caps it (Tuning.duckdb_memory, default
# 128MB) so its temp tables spill to `<ledger>.tmp` instead of growing the process with the
# file. The ledger has no index to hold in memory (uniqueness is kept by the load SQL), so the
# cap cannot fail a commit.


@contextmanager
def _bounded_memory(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[None]:
    """The load's DuckDB settings: its memory budget, and rows kept in no particular order.

    No load step relies on DuckDB's row order (source_line carries the order that matters),
    and keeping insertion order made DuckDB buffer whole results: without it writing a
    million ledger lines took half the time and fit the 128MB budget (bench/).
    """
    row = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
    ).fetchone()
    previous, keep_order = (str(row[0]), bool(row[1])) if row else (None, True)
    bounded = limit is not None
    if limit is not None:
        con.execute(f"SET memory_limit = '{_checked_size(limit)}'")
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
        if bounded and previous is not None:
            con.execute(f"SET memory_limit = '{_checked_size(previous)}'")


def _number_report_lines(con: duckdb.DuckDBPyConnection, pass_lines: int) -> None:
    """`incoming` from `_load_stage`: each line's id numbered by occurrence of its content.

    The DuckDB reader stages each distinct line once with its `copies`: then the stage is
    already grouped and is numbered as it is. When it read every line as a row (a report whose
    lines hardly repeat), and for the Python reader's rows, the few repeated keys are numbered
    row by row; a stage with many is grouped first.
    """
    lines, keys = _lines_and_keys(con, "_load_stage", keep_repeated=True)
    if lines == keys:
        con.execute("CREATE OR REPLACE TEMP VIEW _load_groups AS FROM _load_stage")
    elif _numbered_by_row(con, lines, lines - keys, pass_lines):
        return
    else:
        buckets = max(1, -(-lines // pass_lines))
        con.execute("CREATE OR REPLACE TEMP TABLE _load_groups AS FROM _load_stage LIMIT 0")
        for bucket in range(buckets):
            _with_more_memory_if_needed(con, "incoming_grouped", buckets=buckets, bucket=bucket)
        # The stage is a full copy of the report: free it before the ledger is written.
        con.execute("DROP VIEW _load_stage; DROP TABLE _load_rows")
        grouped, keys = _lines_and_keys(con, "_load_groups")
        if grouped != keys:
            # Two different lines with one md5 content key: numbering them apart would give
            # two ledger lines one id. Never seen; refuse rather than corrupt the ledger.
            raise RuntimeError("two different report lines share a content key")
    row = con.execute("SELECT coalesce(max(copies), 1) FROM _load_groups").fetchone()
    sql.execute(con, "incoming_once" if row is None or row[0] == 1 else "incoming_numbered")


def _numbered_by_row(
    con: duckdb.DuckDBPyConnection, lines: int, repeats: int, pass_lines: int
) -> bool:
    """`incoming` numbered row by row when every stage row is one line and few of them repeat
    a key: the rows whose key repeats (at most twice `repeats`, the lines beyond each key's
    first) are at most a fifth of the stage and fit one pass. False, and nothing made, when
    the stage is better grouped (incoming_grouped.sql).

    Grouping the whole stage to number a few repeats cost 3.7 s of CPU for a million lines
    with 3% repeated (bench/); this touches the repeated rows only.
    """
    if 2 * repeats > min(pass_lines, lines // 5):
        return False
    row = con.execute("SELECT coalesce(max(copies), 1) FROM _load_stage").fetchone()
    if row is None or row[0] != 1:
        return False
    _with_more_memory_if_needed(con, "incoming_repeats")
    row = con.execute(
        "SELECT count(*) = count(DISTINCT (line_id, source_line)) FROM _load_repeats"
    ).fetchone()
    if not (row and row[0]):
        con.execute("DROP TABLE _load_repeats")
        return False  # two rows of one key at one source_line: grouping tells them apart
    # Unlike numbering groups, this cannot give two ledger lines one id: all rows of a key are
    # numbered together, whatever their contents (which the key, an md5 of every field,
    # makes equal anyway).
    sql.execute(con, "incoming_by_row")
    return True


def _lines_and_keys(
    con: duckdb.DuckDBPyConnection, table: str, *, keep_repeated: bool = False
) -> tuple[int, int]:
    """Rows and distinct line ids of a stage, in one grouping that spills past the budget;
    `keep_repeated` keeps the ids held by more than one row in `_load_repeated_keys`.

    Counted before in passes over buckets of keys, each of which read the whole stage again:
    10 passes for 10M lines, so the time grew with the square of the lines (bench/).
    """
    repeated_keys = f"SELECT line_id, count(*) AS n FROM {table} GROUP BY line_id HAVING n > 1"
    if keep_repeated:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _load_repeated_keys AS {repeated_keys}")
        repeated_keys = "FROM _load_repeated_keys"
    row = con.execute(f"SELECT coalesce(sum(n - 1), 0) FROM ({repeated_keys})").fetchone()
    repeated = int(row[0]) if row else 0
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    lines = int(row[0]) if row else 0
    return lines, lines - repeated


# Everything a load creates next to the ledger's tables, dropped when it ends either way.
_SCRATCH = (
    "fresh",
    "moved",
    "incoming",
    "_load_groups",
    "_load_repeats",
    "_load_repeated_keys",
    "_load_stage",
    "_load_rows",
    "_load_removed",
    "_load_retired",
)


def _drop_scratch(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] = _SCRATCH) -> None:
    """Drop the load's temp tables and views (`incoming` and `fresh` may be either)."""
    kinds = dict(
        con.execute(
            "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary"
            " UNION ALL SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary"
        ).fetchall()
    )
    for name in names:
        if name in kinds:
            con.execute(f"DROP {kinds[name]} {name}")


def _with_more_memory_if_needed(
    con: duckdb.DuckDBPyConnection, name: str, **params: object
) -> None:
    """Run a scratch-only SQL file; if the load's budget is too small for it, retry with more.

    Numbering a 10M-line report in one pass needed more than 128MB in DuckDB 1.5 although
    each operator is documented to spill (bench/); it now runs in buckets that fit, and this
    stays as the safety net. The step only writes scratch tables, so a retry is safe; it is
    logged, because it is exactly where memory stops being flat.
    """
    for attempt in range(3):
        try:
            sql.execute(con, name, **params)
            return
        except duckdb.OutOfMemoryException:
            if attempt == 2:
                raise
            row = con.execute("SELECT current_setting('memory_limit')").fetchone()
            budget = str(row[0]) if row else ""
            log.warning("%s: DuckDB memory budget %s too small, retrying with 4x", name, budget)
            con.execute(f"SET memory_limit = '{_grown(budget)}'")


def _grown(limit: str) -> str:
    """Four times a DuckDB size such as `122.0 MiB` (as current_setting prints it)."""
    match = re.fullmatch(r"([\d.]+)\s*([KMGT]?i?B)", limit.strip(), re.IGNORECASE)
    if not match:
        return "2GB"
    return f"{float(match[1]) * 4:.0f}{match[2]}"


def _checked_size(text: str) -> str:
    """A DuckDB size such as `160MB` or `1.5 GiB`, checked before it is put into SQL."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]?i?B", text.strip(), re.IGNORECASE):
        raise ValueError(f"not a memory size: {text!r} (expected e.g. 160MB)")
    return text.strip()


def _count(con: duckdb.DuckDBPyConnection, part: Slice) -> int:
    row = con.execute(
        "SELECT count(*) FROM commissions WHERE network = ? AND account = ?"
        " AND event_date BETWEEN ? AND ?",
        [part.network, part.account, part.period_start, part.period_end],
    ).fetchone()
    assert row is not None
    return int(row[0])
