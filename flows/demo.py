"""`passive demo`: the main job end to end on generated sample data."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from flows import pipeline


def _prepare_prefect() -> None:
    """Give Prefect's temporary server time to start on slow shared machines (default 20 s)."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def run_demo(*, db: Path | None, workdir: Path, use_prefect: bool, console: Console) -> int:
    """Ingest the sample reports (and, later, the sandbox networks) into the ledger.

    Returns the worst exit code of the runs (0 ok, 1 rejects, 2 failures).
    """
    from sandbox.amazon_reports import write_demo_reports

    workdir.mkdir(parents=True, exist_ok=True)
    reports = write_demo_reports(workdir)
    console.print(f"wrote {len(reports)} sample Amazon reports to {workdir}/")
    if use_prefect:
        _prepare_prefect()
        console.print(
            "running them through the Prefect flows (the temporary Prefect server "
            "takes a few seconds to start)…"
        )
        from flows.ingest import ingest_report_files
    code = 0
    for report in reports:
        kwargs = {"account": report.account, "marketplace": report.marketplace}
        db_arg = str(db) if db else None
        if use_prefect:
            summary = ingest_report_files([str(report.path)], db=db_arg, **kwargs)
        else:
            summary = pipeline.ingest_files([report.path], db=db, **kwargs)
        for outcome in summary.reports:
            note = " (restated month: replaces the earlier download)" if report.restatement else ""
            counts = outcome.result
            detail = (
                f"{counts.loaded} lines, {counts.removed} replaced" if counts else outcome.message
            )
            console.print(f"  {outcome.status} {outcome.name}: {detail}{note}", highlight=False)
        code = max(code, summary.exit_code)
    return code
