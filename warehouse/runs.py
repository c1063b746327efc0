"""Bookkeeping around loads: the ingest_runs log, seen source files, and incremental cursors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from warehouse import sql
from warehouse.publish import mark_done, mark_live, transaction, writer


def utc_now() -> datetime:
    """The current time in UTC (one value per run, shared by every row it writes)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoadResult:
    """What one load did to the ledger (kept here, not in warehouse.load: recording that a
    re-ingest was skipped must not wait for pyarrow and pydantic; bench reingest)."""

    records_read: int
    loaded: int
    rejected: int
    inserted: int
    changed: int
    removed: int


@dataclass(frozen=True)
class RunInfo:
    """Identifies one run in `ingest_runs`."""

    run_id: str
    source: str  # "file" or "api"
    network: str
    account: str | None = None
    file_name: str | None = None
    content_hash: str | None = None
    window_start: date | None = None
    window_end: date | None = None
    flow_run_id: str | None = None


def start_run(con: duckdb.DuckDBPyConnection, run: RunInfo) -> None:
    """Record that a run began (own transaction, so a failed load still leaves a trace).

    Until `finish_run`, the run is this process's: opening the ledger again meanwhile (a second
    connection shares the database, DuckDB's file lock does not separate them) must not take
    it for the leftover of a dead process.
    """
    mark_live(run.run_id)
    transaction(
        con,
        lambda: sql.execute(
            con,
            "run_start",
            run_id=run.run_id,
            flow_run_id=run.flow_run_id,
            source=run.source,
            network=run.network,
            account=run.account,
            file_name=run.file_name,
            content_hash=run.content_hash,
            window_start=run.window_start,
            window_end=run.window_end,
            now=utc_now(),
            **writer(),
        ),
        what=f"starting run {run.run_id}",
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    status: str,
    result: LoadResult | None = None,
    message: str | None = None,
) -> None:
    """Record how a run ended and what it did."""
    mark_done(run_id)
    transaction(
        con,
        lambda: sql.execute(
            con,
            "run_finish",
            run_id=run_id,
            status=status,
            records_read=result.records_read if result else 0,
            lines_loaded=result.loaded if result else 0,
            lines_rejected=result.rejected if result else 0,
            lines_inserted=result.inserted if result else 0,
            lines_changed=result.changed if result else 0,
            lines_removed=result.removed if result else 0,
            message=message,
            now=utc_now(),
        ),
        what=f"finishing run {run_id}",
    )


def seen_source_file(
    con: duckdb.DuckDBPyConnection, *, network: str, account: str, content_hash: str
) -> tuple[str, str] | None:
    """`(run_id, file_name)` of the run that already ingested this content, if any."""
    row = sql.execute(
        con, "source_file_seen", network=network, account=account, content_hash=content_hash
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def record_source_file(
    con: duckdb.DuckDBPyConnection,
    *,
    content_hash: str,
    network: str,
    account: str,
    file_name: str,
    report_type: str,
    marketplace: str | None,
    period_start: date,
    period_end: date,
    lines: int,
    run_id: str,
) -> None:
    """Remember a report's content so the same content is a no-op next time."""
    sql.execute(
        con,
        "source_file_record",
        content_hash=content_hash,
        network=network,
        account=account,
        file_name=file_name,
        report_type=report_type,
        marketplace=marketplace,
        period_start=period_start,
        period_end=period_end,
        lines=lines,
        run_id=run_id,
        now=utc_now(),
    )


def get_cursor(
    con: duckdb.DuckDBPyConnection, *, network: str, account: str, stream: str
) -> datetime | None:
    """The saved incremental cursor of a stream, if a pull ever committed one."""
    row = sql.execute(con, "state_get", network=network, account=account, stream=stream).fetchone()
    return row[0] if row else None


def set_cursor(
    con: duckdb.DuckDBPyConnection,
    *,
    network: str,
    account: str,
    stream: str,
    cursor: datetime,
    run_id: str,
) -> None:
    """Save a stream's cursor (call inside the load's transaction, via `before_commit`)."""
    sql.execute(
        con,
        "state_set",
        network=network,
        account=account,
        stream=stream,
        cursor=cursor,
        run_id=run_id,
        now=utc_now(),
    )


def new_run_id() -> str:
    """A fresh run id for work that does not run under a Prefect flow run."""
    return uuid.uuid4().hex
