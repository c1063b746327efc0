"""Loading Amazon report files: the heavy steps of Ledger.ingest (flows/ledger.py) and the flows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from connectors.amazon import AmazonReportError, ReportFile, iter_raw_batches
from connectors.amazon.plain_file import scan_source
from connectors.amazon.source import SOURCE
from flows.amazon_validation import ValidationWorkers, decide_leftovers, validate_earnings_stream
from flows.ingest_summary import (
    IngestSummary,
    InputError,
    MonthTotal,
    ReportOutcome,
    open_report_inputs,
)
from flows.reingest import first_ingested_as, record_skip, report_run
from schemas.networks import AMAZON
from schemas.validation import LEDGER_ARROW_SCHEMA, ColumnarBatch, ValidatedBatch
from warehouse import tally
from warehouse.amazon_scan import (
    ScanCheck,
    ScanCounts,
    ScanUnavailableError,
    drop_scan,
    not_plain_rows,
    scannable,
    scanned_cells,
    stage_scan,
)
from warehouse.connection import ledger
from warehouse.load import (
    LoadRefusedError,
    Slice,
    first_reject,
    load_batches,
    new_run_id,
    replace_refusal,
)
from warehouse.rejects import SAMPLE as REJECTS_SHOWN
from warehouse.rejects import RejectSample, reject_sample
from warehouse.runs import LoadResult, finish_run, record_source_file, start_run
from warehouse.tuning import Tuning

log = logging.getLogger(__name__)
__all__ = [
    "IngestSummary",
    "InputError",
    "MonthTotal",
    "ReportOutcome",
    "open_report_inputs",
]


def load_report(
    report: ReportFile,
    *,
    db: str | Path | None,
    account: str,
    force: bool = False,
    flow_run_id: str | None = None,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None = None,
    tuning: Tuning | None = None,
    workers: ValidationWorkers | None = None,
) -> ReportOutcome:
    """Replace the account's lines in the report's period with the report's lines, atomically.

    Content already ingested for this account is a no-op (whatever the file's name or
    container) unless `force` is set. A report that would empty or mostly empty its period
    (warehouse.load.replace_refusal) is refused unless `force` is set, and a load that cannot
    account for every line of the file is refused whatever `force` says. `tuning` defaults to
    the environment's (Tuning()); without `workers` the Python reader's lines are validated
    in processes this call starts and stops (ValidationWorkers).
    """
    tuning = tuning or Tuning()
    if workers is None:
        with ValidationWorkers(tuning.workers) as own:
            return load_report(
                report,
                db=db,
                account=account,
                force=force,
                flow_run_id=flow_run_id,
                on_batch=on_batch,
                tuning=tuning,
                workers=own,
            )
    run_id = new_run_id()
    outcome = ReportOutcome(
        name=report.name,
        status="loaded",
        run_id=run_id,
        period_start=report.period_start,
        period_end=report.period_end,
        currency=report.currency,
    )
    run = report_run(report, run_id=run_id, account=account, flow_run_id=flow_run_id)
    with ledger(db) as con:
        first = first_ingested_as(con, report, account=account)
        if first is not None and not force:
            message = record_skip(con, run, first)
            return replace(outcome, status="skipped", message=message)
        start_run(con, run)
        try:
            result = _load(
                con,
                report,
                run_id=run_id,
                account=account,
                on_batch=on_batch,
                force=force,
                tuning=tuning,
                workers=workers,
            )
        except (AmazonReportError, LoadRefusedError) as error:
            finish_run(con, run_id, status="failed", message=str(error))
            return replace(outcome, status="failed", message=str(error))
        except BaseException as error:
            finish_run(con, run_id, status="failed", message=f"{type(error).__name__}: {error}")
            raise
        status = "completed_with_rejects" if result.rejected else "completed"
        warning = "; ".join(report.warnings) or None  # e.g. a store nothing in it confirms
        finish_run(con, run_id, status=status, result=result, message=warning)
    return replace(outcome, result=result, message=warning)


def _load(
    con: duckdb.DuckDBPyConnection,
    report: ReportFile,
    *,
    run_id: str,
    account: str,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None,
    tuning: Tuning,
    workers: ValidationWorkers,
    force: bool = False,
) -> LoadResult:
    if tuning.scan and scannable(report):
        try:
            return _load_scanned(
                con,
                report,
                run_id=run_id,
                account=account,
                on_batch=on_batch,
                force=force,
                tuning=tuning,
            )
        except ScanUnavailableError as why:
            # Nothing was written: the load's transaction rolled back and its scratch is gone.
            log.info("%s: read in Python: %s", report.name, why)
    batches = validate_earnings_stream(iter_raw_batches(report), account=account, workers=workers)
    return _load_batches(
        con,
        report,
        batches,
        run_id=run_id,
        account=account,
        on_batch=on_batch,
        force=force,
        tuning=tuning,
    )


def _load_scanned(
    con: duckdb.DuckDBPyConnection,
    report: ReportFile,
    *,
    run_id: str,
    account: str,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None,
    tuning: Tuning,
    force: bool,
) -> LoadResult:
    """DuckDB reads the report (warehouse/amazon_scan.py); pydantic still checks every line.

    pydantic runs in a thread of its own while DuckDB numbers the lines and writes the ledger;
    its verdict is awaited before the commit, so a disagreement rolls the load back.
    """
    with scan_source(report) as path:
        scanned: list[ScanCounts] = []
        checks: list[ScanCheck] = []

        def fill(c: duckdb.DuckDBPyConnection) -> int:
            counts = stage_scan(c, report, path, account, tuning)
            scanned.append(counts)
            checks.append(ScanCheck(scanned_cells(c, report.columns), report.columns))
            return counts.plain_lines

        def leftovers() -> Iterator[ColumnarBatch]:
            counts = scanned[0]
            if counts.other_lines:
                lines = counts.plain_lines + counts.other_lines
                found = not_plain_rows(report, path, lines=lines)
                yield decide_leftovers(found, report, account=account)

        def confirm(c: duckdb.DuckDBPyConnection) -> None:
            checks[0].confirm(scanned[0].plain_texts)

        try:
            return _load_batches(
                con,
                report,
                leftovers(),
                run_id=run_id,
                account=account,
                on_batch=on_batch,
                fill_stage=fill,
                confirm=confirm,
                force=force,
                tuning=tuning,
            )
        finally:
            for check in checks:
                check.close()
            drop_scan(con)


def _load_batches(
    con: duckdb.DuckDBPyConnection,
    report: ReportFile,
    batches: Iterable[ValidatedBatch | ColumnarBatch],
    *,
    run_id: str,
    account: str,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None,
    tuning: Tuning,
    fill_stage: Callable[[duckdb.DuckDBPyConnection], int] | None = None,
    confirm: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    force: bool = False,
) -> LoadResult:
    lines_read: list[int] = [0]
    not_records = LineCounts()

    def count(batch: ValidatedBatch | ColumnarBatch) -> None:
        lines_read[0] += batch.records_read
        if isinstance(batch, ColumnarBatch):
            not_records.skipped += batch.skipped_lines
            not_records.continued += batch.continued_lines
        if on_batch is not None:
            on_batch(batch)

    def check(c: duckdb.DuckDBPyConnection, result: LoadResult) -> None:
        gap = unaccounted_lines(report, result, not_records)
        if gap is not None:
            if fill_stage is not None:
                raise ScanUnavailableError(gap)  # DuckDB's reading is in doubt: read in Python
            raise LoadRefusedError(f"refused, nothing written: {gap}")
        why = None if force else replace_refusal(result)
        if why is not None:
            raise LoadRefusedError(
                f"refused, nothing written: {why} for {account} from {report.period_start}"
                f" to {report.period_end}{_example(first_reject(c))}. Fix the report, or use"
                " --force to replace the period anyway"
            )

    def filled(c: duckdb.DuckDBPyConnection) -> int:
        assert fill_stage is not None
        read = fill_stage(c)
        count(ColumnarBatch(LEDGER_ARROW_SCHEMA.empty_table(), [], read))
        return read

    def remember_file(c: duckdb.DuckDBPyConnection) -> None:
        if confirm is not None:
            confirm(c)
        record_source_file(
            c,
            content_hash=report.content_hash,
            network=AMAZON,
            account=account,
            file_name=report.name,
            report_type=report.report_type,
            marketplace=report.marketplace,
            period_start=report.period_start,
            period_end=report.period_end,
            lines=lines_read[0],
            run_id=run_id,
        )

    return load_batches(
        con,
        batches,
        run_id=run_id,
        network=AMAZON,
        account=account,
        mode=SOURCE.disposition,
        replace=Slice(AMAZON, account, report.period_start, report.period_end),
        on_batch=count,
        before_commit=remember_file,
        fill_stage=filled if fill_stage is not None else None,
        tuning=tuning,
        check=check,
    )


def _example(reject: tuple[str, str] | None) -> str:
    return f" (e.g. {reject[0]}: {reject[1]})" if reject else ""


@dataclass
class LineCounts:
    """A report's physical lines that are no record of their own, by reason."""

    skipped: int = 0  # blank, delimiter-only or `Total...` lines
    continued: int = 0  # further lines of a record whose quoted cell holds a line break


def unaccounted_lines(report: ReportFile, result: LoadResult, other: LineCounts) -> str | None:
    """None when every data line of the file is loaded, rejected or skipped with a reason;
    else what does not add up, in one line.

    The file's lines are counted from its bytes when it is opened (ReportFile.data_lines),
    apart from either reader, so a reader that silently drops lines (DuckDB did, for a title
    ending in LF above CRLF lines: issue 10) cannot empty a period unnoticed.
    """
    if report.data_lines < 0:
        return None
    accounted = result.loaded + result.rejected + other.skipped + other.continued
    if accounted == report.data_lines and result.records_read == result.loaded + result.rejected:
        return None
    return (
        f"the file holds {report.data_lines} data lines but {result.loaded} were loaded,"
        f" {result.rejected} rejected, {other.skipped} skipped as blank or Total lines and"
        f" {other.continued} read as continued lines of a quoted cell ({accounted} in all)"
    )


def months_touched(
    db: str | Path | None, *, network: str, account: str | None, start: date, end: date
) -> list[MonthTotal]:
    """Ledger totals (non-reversed commission) for the months between start and end."""
    with ledger(db, read_only=True) as con:
        rows = tally.months_touched(con, network=network, account=account, start=start, end=end)
    return [MonthTotal(r[0], r[1], int(r[2]), str(r[3]), str(r[4])) for r in rows]


def summarize(
    db: str | Path | None, *, network: str, account: str, outcomes: list[ReportOutcome]
) -> IngestSummary:
    """Collect the outcomes with the ledger's totals for the months they cover."""
    summary = IngestSummary(network=network, account=account, reports=list(outcomes))
    rejecting = [o.run_id for o in outcomes if o.result is not None and o.result.rejected]
    if rejecting:
        with ledger(db, read_only=True) as con:
            summary.rejects = reject_sample(con, rejecting)
    touched = [o for o in outcomes if o.status == "loaded"]
    if touched:
        summary.months = months_touched(
            db,
            network=network,
            account=account,
            start=min(o.period_start for o in touched),
            end=max(o.period_end for o in touched),
        )
    return summary


def combine(summaries: Sequence[IngestSummary], *, account: str) -> IngestSummary:
    """One summary of several (an inbox run's files): every report, every month touched
    (a month two files touched is taken from the later one), and the rejects."""
    months = {(m.month, m.currency): m for s in summaries for m in s.months}
    return IngestSummary(
        network=AMAZON,
        account=account,
        reports=[r for s in summaries for r in s.reports],
        months=[months[key] for key in sorted(months)],
        rejects=RejectSample(
            sum(s.rejects.total for s in summaries),
            [x for s in summaries for x in s.rejects.first][:REJECTS_SHOWN],
        ),
    )


def ingest_files(
    paths: Sequence[str | Path],
    *,
    db: str | Path | None,
    account: str,
    marketplace: str,
    force: bool = False,
    period_start: date | None = None,
    period_end: date | None = None,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None = None,
    tuning: Tuning | None = None,
) -> IngestSummary:
    """Ingest report files in-process (no Prefect): open all, load each, summarize."""
    reports = open_report_inputs(
        paths, marketplace=marketplace, period_start=period_start, period_end=period_end
    )
    return ingest_reports(
        reports, db=db, account=account, force=force, on_batch=on_batch, tuning=tuning
    )


def ingest_reports(
    reports: Sequence[ReportFile],
    *,
    db: str | Path | None,
    account: str,
    force: bool = False,
    on_batch: Callable[[ValidatedBatch | ColumnarBatch], None] | None = None,
    tuning: Tuning | None = None,
    workers: ValidationWorkers | None = None,
) -> IngestSummary:
    """Load reports already opened (open_report_inputs) in-process, each alone, and summarize.

    `workers`: the caller's validation processes, else ones that live for this call.
    """
    tuning = tuning or Tuning()
    with ValidationWorkers(tuning.workers) if workers is None else nullcontext(workers) as pool:
        outcomes = [
            load_report(
                r,
                db=db,
                account=account,
                force=force,
                on_batch=on_batch,
                tuning=tuning,
                workers=pool,
            )
            for r in reports
        ]
    return summarize(db, network=AMAZON, account=account, outcomes=outcomes)
