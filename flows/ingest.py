"""Prefect flows for report files: `ingest_report_files` and the `amazon_inbox` folder watcher."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from connectors.amazon import ReportFile
from flows import pipeline
from flows.concurrency import ledger_writer
from flows.hooks import log_failure, name_run
from flows.report import artifact_key, ingest_markdown

REPORT_SUFFIXES = {".csv", ".tsv", ".txt", ".zip"}


@task(name="load-report", cache_policy=NO_CACHE, task_run_name="load {report.name}")
def load_report_task(
    report: ReportFile, db: str | None, account: str, force: bool
) -> pipeline.ReportOutcome:
    """Validate and load one report into the ledger (writes DuckDB: never cached)."""
    with ledger_writer():
        outcome = pipeline.load_report(
            report, db=db, account=account, force=force, flow_run_id=flow_run.get_id()
        )
    logger = get_run_logger()
    if outcome.status == "failed":
        logger.error("%s: %s", report.name, outcome.message)
    elif outcome.status == "loaded" and outcome.message:
        logger.warning("%s: %s", report.name, outcome.message)
    else:
        logger.info("%s: %s %s", report.name, outcome.status, outcome.result or outcome.message)
    return outcome


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary_task(summary: pipeline.IngestSummary) -> None:
    """Publish the run's summary as a markdown artifact the Prefect UI shows."""
    create_markdown_artifact(
        markdown=ingest_markdown(summary),
        key=artifact_key(summary.network, "ingest", summary.account),
        description=f"{summary.network} ingest for {summary.account}",
    )


def _periods(reports: list[ReportFile]) -> str:
    """The span the reports cover, for the run's name: 2026-10-01..2026-10-31."""
    if not reports:
        return ""
    start = min(r.period_start for r in reports)
    end = max(r.period_end for r in reports)
    return f" {start:%Y-%m-%d}..{end:%Y-%m-%d}"


@flow(
    name="ingest-report-files",
    flow_run_name="ingest {network} {account}",
    on_failure=[log_failure],
    on_crashed=[log_failure],
)
def ingest_report_files(
    paths: list[str],
    account: str,
    marketplace: str = "US",
    network: str = "amazon",
    db: str | None = None,
    force: bool = False,
    period_start: date | None = None,
    period_end: date | None = None,
) -> pipeline.IngestSummary:
    """Parse and validate report files, load each into the ledger, and summarize the run."""
    if network != pipeline.NETWORK_AMAZON:
        raise pipeline.InputError(f"report files are read for amazon only, not {network!r}")
    reports = pipeline.open_report_inputs(
        paths, marketplace=marketplace, period_start=period_start, period_end=period_end
    )
    name_run(f"ingest {network} {account}{_periods(reports)}")
    outcomes = [load_report_task(r, db, account, force) for r in reports]
    summary = pipeline.summarize(db, network=network, account=account, outcomes=outcomes)
    publish_summary_task(summary)
    return summary


def _move(file: Path, folder: Path, note: str | None = None) -> Path:
    """Move a processed file aside under a timestamped name, with a note of why if given."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}-{file.name}"
    shutil.move(str(file), target)
    if note:
        target.with_name(target.name + ".why.txt").write_text(note + "\n", encoding="utf-8")
    return target


@flow(
    name="amazon-inbox",
    flow_run_name="amazon inbox {account}",
    on_failure=[log_failure],
    on_crashed=[log_failure],
)
def amazon_inbox(
    inbox: str,
    account: str,
    marketplace: str = "US",
    db: str | None = None,
) -> list[pipeline.IngestSummary]:
    """Ingest every report file dropped in `inbox`; archive each loaded one, quarantine failures."""
    logger = get_run_logger()
    folder = Path(inbox)
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES
    )
    summaries = []
    if not files:
        logger.info("inbox %s is empty", folder)
    opened: list[tuple[Path, list[ReportFile]]] = []
    for file in files:
        try:
            opened.append((file, pipeline.open_report_inputs([file], marketplace=marketplace)))
        except pipeline.InputError as error:
            logger.error("quarantined %s: %s", file.name, error)
            _move(file, folder / "quarantine", str(error))
    every_report = [r for _, reports in opened for r in reports]
    if every_report:
        name_run(f"amazon inbox {account}{_periods(every_report)}")
    else:
        name_run(f"amazon inbox {account} (nothing new)")
    for file, reports in opened:
        outcomes = [load_report_task(r, db, account, False) for r in reports]
        summary = pipeline.summarize(db, network="amazon", account=account, outcomes=outcomes)
        publish_summary_task(summary)
        summaries.append(summary)
        if summary.failed:
            why = "; ".join(o.message or o.status for o in summary.failed)
            logger.error("quarantined %s: %s", file.name, why)
            _move(file, folder / "quarantine", why)
        else:
            _move(file, folder / "archive")
    return summaries
