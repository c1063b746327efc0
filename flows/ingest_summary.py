"""What an ingest reads and answers: the report files opened and checked, one outcome per
report, the run's summary. Light (no pydantic, pyarrow or worker processes): an unchanged
re-ingest is answered with these alone (flows/ledger.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from connectors.amazon import AmazonReportError, ReportFile, open_reports
from warehouse.rejects import RejectSample
from warehouse.runs import LoadResult


class InputError(ValueError):
    """Bad usage or bad input: nothing was loaded (CLI exit code 2)."""


@dataclass(frozen=True)
class ReportOutcome:
    """What happened to one report file."""

    name: str
    status: str  # loaded | skipped | failed
    run_id: str
    period_start: date
    period_end: date
    currency: str
    result: LoadResult | None = None
    message: str | None = None  # why it failed or was skipped; a warning if it loaded


@dataclass
class MonthTotal:
    """Ledger totals of one month and currency, for the months a run touched."""

    month: date
    currency: str
    lines: int
    sales: str
    commission: str


@dataclass
class IngestSummary:
    """Everything a run did, for the CLI's output and the Prefect artifact."""

    network: str
    account: str
    reports: list[ReportOutcome] = field(default_factory=list)
    months: list[MonthTotal] = field(default_factory=list)
    rejects: RejectSample = field(default_factory=RejectSample)

    def total(self, attribute: str) -> int:
        """Sum of one LoadResult counter over the loaded reports."""
        return sum(getattr(r.result, attribute) for r in self.reports if r.result is not None)

    @property
    def failed(self) -> list[ReportOutcome]:
        """Reports that loaded nothing because of an error."""
        return [r for r in self.reports if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 all good, 1 some records rejected, 2 an input loaded nothing (DESIGN.md)."""
        if self.failed:
            return 2
        return 1 if self.total("rejected") else 0


def open_report_inputs(
    paths: Sequence[str | Path],
    *,
    marketplace: str,
    period_start: date | None = None,
    period_end: date | None = None,
    hash_only: bool = False,
) -> list[ReportFile]:
    """Read the title and header of every report first, so a bad one stops all before loading.

    `hash_only`: the content hashes without the decode of every byte or the line count, to
    find reports the ledger holds already (checked when they were loaded); such reports are
    never loaded (Ledger.ingest opens the others again, in full).
    """
    if not paths:
        raise InputError("no report files given")
    reports: list[ReportFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            raise InputError(
                f"{path}: is a folder; give the report files in it, e.g. {path / '*.csv'}"
            )
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        try:
            reports += open_reports(
                path,
                marketplace=marketplace,
                period_start=period_start,
                period_end=period_end,
                check_text=not hash_only,
                count_lines=not hash_only,
            )
        except AmazonReportError as error:
            raise InputError(str(error)) from error
    return reports
