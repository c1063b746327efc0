"""Whether a report's content is already in the ledger, and the run record of skipping it.

One skip check for every load (ingest_steps.load_report) and for the quick answer to an
unchanged re-ingest (Ledger.ingest, skip_known): kept light, as that answer must not import
pydantic or pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flows.ingest_summary import ReportOutcome
from schemas.networks import AMAZON
from warehouse.runs import RunInfo, finish_run, new_run_id, seen_source_file, start_run

if TYPE_CHECKING:
    import duckdb

    from connectors.amazon import ReportFile


def report_run(
    report: ReportFile, *, run_id: str, account: str, flow_run_id: str | None = None
) -> RunInfo:
    """The run record of loading `report` into `account`'s lines."""
    return RunInfo(
        run_id=run_id,
        source="file",
        network=AMAZON,
        account=account,
        file_name=report.name,
        content_hash=report.content_hash,
        window_start=report.period_start,
        window_end=report.period_end,
        flow_run_id=flow_run_id,
    )


def skipped_message(first_name: str) -> str:
    """Why a report whose content the ledger already holds was not loaded again."""
    return f"same content as {first_name}, already ingested (use --force to re-apply)"


def first_ingested_as(
    con: duckdb.DuckDBPyConnection, report: ReportFile, *, account: str
) -> str | None:
    """The file name under which the account's ledger first took this content, if it did."""
    seen = seen_source_file(con, network=AMAZON, account=account, content_hash=report.content_hash)
    return seen[1] if seen else None


def record_skip(con: duckdb.DuckDBPyConnection, run: RunInfo, first_name: str) -> str:
    """Record in `ingest_runs` that the run skipped content first ingested as `first_name`."""
    message = skipped_message(first_name)
    start_run(con, run)
    finish_run(con, run.run_id, status="skipped", message=message)
    return message


def skip_known(
    con: duckdb.DuckDBPyConnection, reports: Sequence[ReportFile], *, account: str
) -> list[ReportOutcome] | None:
    """When the account's ledger holds every report's content: record each skip (as
    load_report would) and return the outcomes. Else None, with nothing written."""
    firsts = [first_ingested_as(con, r, account=account) for r in reports]
    if not reports or None in firsts:
        return None
    outcomes = []
    for report, first in zip(reports, firsts, strict=True):
        assert first is not None
        run = report_run(report, run_id=new_run_id(), account=account)
        outcomes.append(
            ReportOutcome(
                name=report.name,
                status="skipped",
                run_id=run.run_id,
                period_start=report.period_start,
                period_end=report.period_end,
                currency=report.currency,
                message=record_skip(con, run, first),
            )
        )
    return outcomes
