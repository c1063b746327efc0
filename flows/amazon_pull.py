"""`passive pull amazon` as plain functions: list, download and verify, then load each report.

Every new report is downloaded and verified before anything is written, so an access-gate
403, a bad md5 or a refused token leaves the ledger and its bookkeeping as they were. Earnings
reports then go through the Amazon ingest path (`ingest_earnings`, the one seam into it);
other report types are recorded as seen and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from connectors.accounts import Account, account_settings
from connectors.amazon.api import CreatorsApi, ReportListing
from connectors.amazon.errors import AmazonReportError
from connectors.amazon.reports import EARNINGS_REPORT
from connectors.amazon.unpack import UnpackedReport, period_from_name, report_period, unpack
from connectors.errors import ConnectorError
from connectors.settings import AmazonSettings
from flows import ingest_steps
from flows.pull_steps import PullInputError
from schemas.networks import AMAZON as NETWORK
from warehouse.amazon_api import ApiReportRecord, known_api_reports, record_api_reports
from warehouse.connection import ledger
from warehouse.load import new_run_id
from warehouse.runs import RunInfo, finish_run, start_run


@dataclass(frozen=True)
class Fetched:
    """One downloaded, verified report file and the reports unpacked from it."""

    listing: ReportListing
    reports: tuple[UnpackedReport, ...] = ()
    refused: str | None = None  # why the file cannot be used (a damaged archive)


@dataclass(frozen=True)
class Listed:
    """What listReports offered a store, and which of it is new to the account."""

    offered: int  # reports listReports named
    in_range: int  # of those, last modified within --since/--until
    new: tuple[ReportListing, ...]  # not yet taken in, oldest first


@dataclass(frozen=True)
class ReportLine:
    """What one report of the run became, for the CLI and the artifact."""

    file_name: str  # as listReports names it
    report: str  # the report itself: the file name, or `archive.zip:member`
    report_type: str
    status: str  # loaded | skipped | refused
    note: str = ""
    period_start: date | None = None
    period_end: date | None = None
    currency: str = ""
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    inserted: int = 0
    removed: int = 0


@dataclass
class AmazonPullSummary:
    """Everything one `pull amazon` did."""

    account: str
    marketplace: str
    listed: Listed
    run_id: str = ""
    reports: list[ReportLine] = field(default_factory=list)
    months: list[ingest_steps.MonthTotal] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Reports with this status."""
        return sum(1 for r in self.reports if r.status == status)

    @property
    def rejected(self) -> int:
        """Lines rejected across the loaded reports."""
        return sum(r.rejected for r in self.reports)

    @property
    def exit_code(self) -> int:
        """0 ok, 1 some lines rejected, 2 a report was refused (DESIGN.md exit codes)."""
        if self.count("refused"):
            return 2
        return 1 if self.rejected else 0


def load_settings(
    overrides: Mapping[str, Any] | None = None, account: Account | None = None
) -> AmazonSettings:
    """The Creators API settings (Secret blocks in `overrides` win), credentials checked;
    `account` is a passive.toml store (its login's credential, its own settings)."""
    try:
        if account is None:
            settings = AmazonSettings(**dict(overrides or {}))
        else:
            found = account_settings(account, overrides)
            assert isinstance(found, AmazonSettings)
            settings = found
        settings.require_credentials()
    except ConnectorError as error:
        login = account.login_name if account else "amazon"
        raise PullInputError(
            f"{error}, or store them as Prefect Secret blocks with `passive secrets set {login}`"
        ) from None
    except ValueError as error:  # pydantic-settings: a malformed PASSIVE_AMAZON_* value
        raise PullInputError(f"amazon settings: {error}") from None
    return settings


def connect(settings: AmazonSettings, marketplace: str) -> CreatorsApi:
    """The Creators API of one store, or a usage error for an unknown store."""
    try:
        return CreatorsApi(settings, marketplace)
    except ValueError as error:
        raise PullInputError(str(error)) from None


def known_reports(db: str | Path | None, account: str) -> set[tuple[str, str]]:
    """(file name, md5) of the reports the account already took in."""
    with ledger(db) as con:
        return known_api_reports(con, account=account)


def list_new(
    api: CreatorsApi,
    known: Callable[[], set[tuple[str, str]]],
    *,
    since: date | None,
    until: date | None,
) -> Listed:
    """listReports, filtered by last-modified day, minus the (file, md5) pairs already known.

    The ledger is read only after Amazon answered, so a refused call leaves it untouched.
    """
    offered = api.list_reports()
    wanted = [
        listing
        for listing in offered
        if (since is None or listing.last_modified.date() >= since)
        and (until is None or listing.last_modified.date() <= until)
    ]
    seen = known()
    new = [listing for listing in wanted if (listing.filename, listing.md5) not in seen]
    # Oldest first: when two files cover one period, the newer one is loaded last and wins.
    new.sort(key=lambda listing: (listing.last_modified, listing.filename))
    return Listed(len(offered), len(wanted), tuple(new))


def fetch(api: CreatorsApi, listing: ReportListing, folder: Path, index: int) -> Fetched:
    """Download one report, verify its size and md5, and unpack it into `folder`."""
    raw = api.download(listing, folder / f"{index:04d}.download")
    try:
        reports = unpack(raw, listing.filename, folder / f"{index:04d}")
    except AmazonReportError as error:
        return Fetched(listing, refused=str(error))
    finally:
        raw.unlink(missing_ok=True)
    return Fetched(listing, tuple(reports))


def ingest_earnings(
    items: Sequence[tuple[Path, tuple[date, date] | None]],
    *,
    db: str | Path | None,
    account: str,
    marketplace: str,
    flow_run_id: str | None = None,
) -> tuple[list[ingest_steps.ReportOutcome | str], ingest_steps.IngestSummary]:
    """THE seam into the Amazon ingest path, exactly what `passive ingest` runs on each file.

    Each item is a plain report file and, when it has no title line, the period its file name
    gives. Returns one entry per item (the load's outcome, or why the file could not be
    opened) and the summary of the months touched. Re-point this one function when the
    ingest path moves.
    """
    results: list[ingest_steps.ReportOutcome | str] = []
    for path, period in items:
        start, end = period if period else (None, None)
        try:
            (report,) = ingest_steps.open_report_inputs(
                [path], marketplace=marketplace, period_start=start, period_end=end
            )
        except ingest_steps.InputError as error:
            results.append(str(error))
            continue
        results.append(
            ingest_steps.load_report(report, db=db, account=account, flow_run_id=flow_run_id)
        )
    outcomes = [r for r in results if isinstance(r, ingest_steps.ReportOutcome)]
    summary = ingest_steps.summarize(db, network=NETWORK, account=account, outcomes=outcomes)
    return results, summary


@dataclass
class _Plan:
    """The decisions of one run before anything is written."""

    lines: dict[tuple[int, int], ReportLine] = field(default_factory=dict)
    earnings: list[tuple[int, int]] = field(default_factory=list)
    periods: dict[tuple[int, int], tuple[date, date] | None] = field(default_factory=dict)


def _decide(fetched: Sequence[Fetched], marketplace: str) -> _Plan:
    plan = _Plan()
    for i, item in enumerate(fetched):
        name = item.listing.filename
        if item.refused is not None:
            plan.lines[(i, -1)] = ReportLine(name, name, "", "refused", item.refused)
            continue
        for j, report in enumerate(item.reports):
            key = (i, j)
            if report.report_type == EARNINGS_REPORT:
                period = None
                if not report.has_title:
                    period = period_from_name(report.name, marketplace)
                    if period is None:
                        plan.lines[key] = ReportLine(
                            name,
                            report.name,
                            report.report_type,
                            "refused",
                            "no title line gives the period and the file name has no dates"
                            " (expected 'Fee-Earnings reports from <start> to <end>' or"
                            " YYYYMMDD-YYYYMMDD in the name)",
                        )
                        continue
                plan.earnings.append(key)
                plan.periods[key] = period
            elif report.report_type:
                day = item.listing.last_modified.date()
                start, end = report_period(report, marketplace) or (day, day)
                plan.lines[key] = ReportLine(
                    name,
                    report.name,
                    report.report_type,
                    "skipped",
                    f"a {report.report_type} report: seen, not earnings",
                    start,
                    end,
                )
            else:
                header = report.header[:120]
                plan.lines[key] = ReportLine(
                    name,
                    report.name,
                    "",
                    "refused",
                    f"cannot tell the report type from its title, header ({header!r}) or name",
                )
        _refuse_overlaps(plan, i, item, marketplace)
    return plan


def _refuse_overlaps(plan: _Plan, i: int, item: Fetched, marketplace: str) -> None:
    """One download is one input: two different earnings reports in it covering the same days
    would replace each other's lines in turn (issue 10), so both are refused, named."""
    mine = [key for key in plan.earnings if key[0] == i]
    spans = {key: report_period(item.reports[key[1]], marketplace) for key in mine}
    clashing: set[tuple[int, int]] = set()
    for a in mine:
        for b in mine:
            span_a, span_b = spans[a], spans[b]
            overlap = bool(span_a and span_b and span_a[0] <= span_b[1] and span_b[0] <= span_a[1])
            differ = item.reports[a[1]].content_hash != item.reports[b[1]].content_hash
            if a < b and overlap and differ:
                clashing |= {a, b}
    if not clashing:
        return
    names = ", ".join(repr(item.reports[key[1]].name) for key in sorted(clashing))
    for key in sorted(clashing):
        report = item.reports[key[1]]
        plan.earnings.remove(key)
        plan.lines[key] = ReportLine(
            item.listing.filename,
            report.name,
            report.report_type,
            "refused",
            f"members {names} cover the same days: loaded one after the other, the second"
            " would erase the first's lines (expected one report per period in an archive)",
        )


def _loaded_line(
    name: str, report: UnpackedReport, result: ingest_steps.ReportOutcome | str
) -> ReportLine:
    line = ReportLine(name, report.name, report.report_type, "refused")
    if isinstance(result, str):
        return replace(line, note=result)
    line = replace(
        line,
        period_start=result.period_start,
        period_end=result.period_end,
        currency=result.currency,
        note=result.message or "",
    )
    if result.status == "failed":
        return line
    if result.status == "skipped":
        return replace(line, status="skipped")
    counts = result.result
    assert counts is not None
    return replace(
        line,
        status="loaded",
        read=counts.records_read,
        loaded=counts.loaded,
        rejected=counts.rejected,
        inserted=counts.inserted,
        removed=counts.removed,
    )


def load(
    fetched: Sequence[Fetched],
    listed: Listed,
    *,
    db: str | Path | None,
    account: str,
    marketplace: str,
    flow_run_id: str | None = None,
) -> AmazonPullSummary:
    """Load the earnings reports, record the rest as seen, remember every file taken in.

    A file is remembered (and so not downloaded again) only when none of its reports was
    refused; a refused one is tried again by the next pull.
    """
    summary = AmazonPullSummary(account, marketplace, listed, run_id=new_run_id())
    plan = _decide(fetched, marketplace)
    items = [(fetched[i].reports[j].path, plan.periods[(i, j)]) for i, j in plan.earnings]
    if items:
        results, ingested = ingest_earnings(
            items, db=db, account=account, marketplace=marketplace, flow_run_id=flow_run_id
        )
        summary.months = ingested.months
        for (i, j), result in zip(plan.earnings, results, strict=True):
            plan.lines[(i, j)] = _loaded_line(
                fetched[i].listing.filename, fetched[i].reports[j], result
            )
    ordered = sorted(plan.lines.items())
    summary.reports = [line for _, line in ordered]
    with ledger(db) as con:
        start_run(con, _run_info(summary, listed, flow_run_id))
        for i, item in enumerate(fetched):
            lines = [(j, line) for (k, j), line in ordered if k == i]
            if any(line.status == "refused" for _, line in lines):
                continue
            records = [
                _record(summary, item, item.reports[j], line, outcome_of(line)) for j, line in lines
            ]
            record_api_reports(con, records, run_id=summary.run_id)
        refused = summary.count("refused")
        status = "completed_with_rejects" if summary.rejected or refused else "completed"
        finish_run(con, summary.run_id, status=status, message=run_message(summary))
    return summary


def outcome_of(line: ReportLine) -> str:
    """How amazon_api_reports records a report's fate."""
    if line.status == "loaded":
        return "loaded"
    return "skipped_type" if line.report_type != EARNINGS_REPORT else "same_content"


def _record(
    summary: AmazonPullSummary,
    item: Fetched,
    report: UnpackedReport,
    line: ReportLine,
    outcome: str,
) -> ApiReportRecord:
    return ApiReportRecord(
        account=summary.account,
        marketplace=summary.marketplace,
        file_name=item.listing.filename,
        md5=item.listing.md5,
        size=item.listing.size,
        last_modified=item.listing.last_modified,
        member=report.name,
        report_type=report.report_type,
        outcome=outcome,
        content_hash=report.content_hash,
        period_start=line.period_start,
        period_end=line.period_end,
    )


def _run_info(summary: AmazonPullSummary, listed: Listed, flow_run_id: str | None) -> RunInfo:
    days = [line.last_modified.date() for line in listed.new]
    return RunInfo(
        run_id=summary.run_id,
        source="api",
        network=NETWORK,
        account=summary.account,
        window_start=min(days) if days else None,
        window_end=max(days) if days else None,
        flow_run_id=flow_run_id,
    )


def run_message(summary: AmazonPullSummary) -> str:
    """One line: what the pull did."""
    listed = summary.listed
    return (
        f"Creators API {summary.marketplace}: {listed.offered} reports listed, "
        f"{len(listed.new)} new downloaded; {summary.count('loaded')} loaded, "
        f"{summary.count('skipped')} skipped, {summary.count('refused')} refused"
    )


def pull(
    *,
    account: str,
    marketplace: str,
    db: str | Path | None,
    since: date | None = None,
    until: date | None = None,
    folder: Path,
    overrides: Mapping[str, Any] | None = None,
    on_download: Callable[[ReportListing], None] | None = None,
    named: Account | None = None,
    writing: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> AmazonPullSummary:
    """One `passive pull amazon` in-process (no Prefect), downloads kept in `folder`.

    Raises ConnectorError (access gate, bad md5, refused credentials) having written nothing.
    """
    settings = load_settings(overrides, named)

    def known() -> set[tuple[str, str]]:
        with writing():  # reading may migrate the file: a writer's turn
            return known_reports(db, account)

    with connect(settings, marketplace) as api:
        listed = list_new(api, known, since=since, until=until)
        fetched = []
        for index, listing in enumerate(listed.new):
            if on_download is not None:
                on_download(listing)
            fetched.append(fetch(api, listing, folder, index))
    with writing():
        return load(fetched, listed, db=db, account=account, marketplace=api.marketplace)
