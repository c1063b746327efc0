"""Bookkeeping of Creators API reports: which (account, file, md5) the ledger already took in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from schemas.networks import AMAZON
from warehouse import sql
from warehouse.publish import transaction
from warehouse.runs import record_source_file, utc_now


@dataclass(frozen=True)
class ApiReportRecord:
    """One report of one download as the ledger remembers it."""

    account: str
    marketplace: str
    file_name: str
    md5: str
    size: int
    last_modified: datetime
    member: str
    report_type: str
    outcome: str  # loaded | same_content | skipped_type
    content_hash: str
    run_id: str | None = None  # the ingest run that loaded it, if one did
    period_start: date | None = None  # a report skipped by type: the period it covers
    period_end: date | None = None


def known_api_reports(con: duckdb.DuckDBPyConnection, *, account: str) -> set[tuple[str, str]]:
    """(file name, md5) of every report already taken in for `account`."""
    rows = sql.execute(con, "amazon_api_known", account=account).fetchall()
    return {(str(name), str(md5)) for name, md5 in rows}


def record_api_reports(
    con: duckdb.DuckDBPyConnection,
    records: list[ApiReportRecord],
    *,
    run_id: str,
) -> None:
    """Remember a download's reports in one transaction.

    A report skipped by type also goes into `source_files` (as seen by the pull `run_id`,
    0 lines), so the ledger shows that it was offered and why it is not in `commissions`.
    """
    now = utc_now()

    def step() -> None:
        for record in records:
            if record.outcome == "skipped_type":
                assert record.period_start is not None and record.period_end is not None
                record_source_file(
                    con,
                    content_hash=record.content_hash,
                    network=AMAZON,
                    account=record.account,
                    file_name=record.member,
                    report_type=record.report_type,
                    marketplace=record.marketplace,
                    period_start=record.period_start,
                    period_end=record.period_end,
                    lines=0,
                    run_id=run_id,
                )
            sql.execute(
                con,
                "amazon_api_record",
                account=record.account,
                marketplace=record.marketplace,
                file_name=record.file_name,
                md5=record.md5,
                size=record.size,
                last_modified=record.last_modified,
                member=record.member,
                report_type=record.report_type,
                outcome=record.outcome,
                content_hash=record.content_hash,
                run_id=record.run_id,
                now=now,
            )

    transaction(con, step, what=f"recording downloaded reports of run {run_id}", exclusive=True)
