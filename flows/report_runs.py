"""The `ingest_runs` record of one report file, shared by the pipeline and the CLI's re-ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warehouse.runs import RunInfo

if TYPE_CHECKING:
    from connectors.amazon import ReportFile

NETWORK_AMAZON = "amazon"


def report_run(
    report: ReportFile, *, run_id: str, account: str, flow_run_id: str | None = None
) -> RunInfo:
    """The run record of loading `report` into `account`'s lines."""
    return RunInfo(
        run_id=run_id,
        source="file",
        network=NETWORK_AMAZON,
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
