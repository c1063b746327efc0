"""Prefect flows for report files (ingest_report_files, amazon_inbox): Ledger steps as tasks."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run

from connectors.amazon import ReportFile
from flows import ingest_steps
from flows.artifacts import artifact_key, ingest_markdown
from flows.concurrency import ledger_writer
from flows.hooks import log_failure, name_run
from flows.ledger import Ledger
from flows.states import completed, failed
from schemas.networks import AMAZON

REPORT_SUFFIXES = {".csv", ".tsv", ".txt", ".zip"}


@task(name="load-report", cache_policy=NO_CACHE, task_run_name="load {report.name}")
def load_report_task(
    report: ReportFile, db: str | None, account: str, force: bool
) -> ingest_steps.ReportOutcome:
    """Validate and load one report into the ledger (writes DuckDB: never cached)."""
    outcome = Ledger(db, writing=ledger_writer).load_report(
        report, account=account, force=force, flow_run_id=flow_run.get_id()
    )
    logger = get_run_logger()
    if outcome.status == "failed":
        logger.error("%s loaded nothing: %s", report.name, outcome.message)
    elif outcome.result is not None:
        res = outcome.result
        logger.info(
            "Loaded %s (%s to %s): %d lines, %d rejected, %d new, %d removed.",
            report.name, outcome.period_start, outcome.period_end,
            res.loaded, res.rejected, res.inserted, res.removed,
        )  # fmt: skip
        if outcome.message:
            logger.warning("%s: %s", report.name, outcome.message)
    else:
        logger.info("Skipped %s: %s.", report.name, (outcome.message or "").rstrip("."))
    return outcome


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary_task(
    summary: ingest_steps.IngestSummary, notes: list[str] | None = None
) -> None:
    """Publish the run's summary as one markdown artifact the Prefect UI shows."""
    from flows.summary import summary_link

    create_markdown_artifact(
        markdown=ingest_markdown(summary, notes=notes, link=summary_link()),
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
    network: str = AMAZON,
    db: str | None = None,
    force: bool = False,
    period_start: date | None = None,
    period_end: date | None = None,
) -> ingest_steps.IngestSummary | State[Any]:
    """Parse and validate report files, load each into the ledger, and summarize the run."""
    if network != AMAZON:
        return failed(f"report files are read for amazon only, not {network!r}")
    try:
        reports = Ledger.open_reports(
            paths, marketplace=marketplace, period_start=period_start, period_end=period_end
        )
    except ingest_steps.InputError as error:
        # Bad input is no bug: the cause is the run's state message, with no traceback.
        return failed(f"nothing was loaded: {error}")
    name_run(f"ingest {network} {account}{_periods(reports)}")
    with ledger_writer():  # one slot for all the reports, not one take per report
        outcomes = [load_report_task(r, db, account, force) for r in reports]
    summary = Ledger(db).summarize(outcomes, network=network, account=account)
    publish_summary_task(summary)
    return completed(summary, report_problems(summary))


def report_problems(summary: ingest_steps.IngestSummary) -> list[str]:
    """What a user must look at after an ingest: each report that failed or lost lines."""
    problems = []
    for outcome in summary.reports:
        if outcome.status == "failed":
            problems.append(f"{outcome.name} failed: {outcome.message}")
        elif outcome.result is not None and outcome.result.rejected:
            problems.append(
                f"{outcome.name}: {outcome.result.rejected} lines rejected "
                f"(`passive rejects --run {outcome.run_id}`)"
            )
    return problems


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
) -> list[ingest_steps.IngestSummary] | State[Any]:
    """Ingest every report file dropped in `inbox`; archive each loaded one, quarantine failures."""
    logger = get_run_logger()
    folder = Path(inbox)
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES
    )
    summaries = []
    problems: list[str] = []
    quarantined: list[str] = []
    if not files:
        logger.info("The inbox %s is empty.", folder)
    opened: list[tuple[Path, list[ReportFile]]] = []
    for file in files:
        try:
            opened.append((file, Ledger.open_reports([file], marketplace=marketplace)))
        except ingest_steps.InputError as error:
            logger.error("Quarantined %s: %s", file.name, error)
            _move(file, folder / "quarantine", str(error))
            problems.append(f"quarantined {file.name}: {error}")
            quarantined.append(f"{file.name}: quarantined: {error}")
    every_report = [r for _, reports in opened for r in reports]
    if every_report:
        name_run(f"amazon inbox {account}{_periods(every_report)}")
    else:
        name_run(f"amazon inbox {account} (nothing new)")
    for file, reports in opened:
        with ledger_writer():  # one slot per file, not one take per report
            outcomes = [load_report_task(r, db, account, False) for r in reports]
        summary = Ledger(db).summarize(outcomes, account=account)
        summaries.append(summary)
        if summary.failed:
            why = "; ".join(o.message or o.status for o in summary.failed)
            logger.error("Quarantined %s: %s", file.name, why)
            _move(file, folder / "quarantine", why)
            problems.append(f"quarantined {file.name}: {why}")
            quarantined.append(f"{file.name}: quarantined: {why}")
        else:
            _move(file, folder / "archive")
            problems += report_problems(summary)
    if summaries or quarantined:
        # One artifact per run, every file in it: under one key, "latest" is the whole run.
        publish_summary_task(ingest_steps.combine(summaries, account=account), quarantined)
    return completed(summaries, problems)
