"""Plain-text renderings of run summaries, shared by the CLI and the Prefect artifacts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flows.ingest_summary import IngestSummary
from flows.pull_steps import PullSummary
from warehouse.rejects import RejectSample


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) from free text."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def money(value: Decimal | str) -> str:
    """An amount to the ledger's precision, never rounded: 12.5 -> "12.50", CJ's 0.125 ->
    "0.125" (DECIMAL(18,4) holds up to 4 places; trailing zeros past the cent go)."""
    amount = Decimal(value)
    if amount == amount.quantize(Decimal("0.01")):
        return str(amount.quantize(Decimal("0.01")))
    return str(amount.normalize())


def cell(text: str) -> str:
    """Text for one markdown table cell: a `|` would end the cell, a newline the row."""
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-style markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rejects_markdown(rejects: RejectSample, run_ids: list[str]) -> list[str]:
    """The rejected records, where and why: the first ones, the count, and where the rest are."""
    if not rejects.total:
        return []
    rows = [
        [locator.replace("|", "\\|"), reasons.replace("|", "\\|")]
        for locator, reasons in rejects.first
    ]
    more = rejects.total - len(rejects.first)
    runs = " ".join(f"`passive rejects --run {run_id}`" for run_id in run_ids)
    parts = [
        f"## Rejected records: {rejects.total}",
        markdown_table(["where", "why"], rows),
    ]
    tail = f"{more} more not shown; all of them: {runs}" if more > 0 else f"Also in {runs}"
    return [*parts, tail + "."]


def summary_line(link: str | None) -> list[str]:
    """The link to the latest income summary, which every run's artifact ends with."""
    return [f"Income summary, latest: [{link}]({link})"] if link else []


def ingest_markdown(
    summary: IngestSummary, *, notes: list[str] | None = None, link: str | None = None
) -> str:
    """The artifact of an ingest run: every report with its counts, the problems, the rejected
    lines, then the ledger's commission per month touched (to the ledger's precision)."""
    reports = [
        [
            r.name,
            r.status,
            f"{r.period_start} to {r.period_end}",
            str(r.result.records_read if r.result else 0),
            str(r.result.loaded if r.result else 0),
            str(r.result.rejected if r.result else 0),
            str((r.result.inserted + r.result.changed + r.result.removed) if r.result else 0),
            cell(r.message or ""),
        ]
        for r in summary.reports
    ]
    months = [
        [m.month.strftime("%Y-%m"), m.currency, str(m.lines), money(m.sales), money(m.commission)]
        for m in summary.months
    ]
    t = summary.total
    changed = t("inserted") + t("changed") + t("removed")
    parts = [
        f"# {summary.network} ingest for {summary.account}",
        f"Lines read **{t('records_read')}**, loaded **{t('loaded')}**, "
        f"rejected **{t('rejected')}**, changed **{changed}** (inserted {t('inserted')}, "
        f"changed {t('changed')}, removed {t('removed')}).",
        f"## Reports: {len(summary.reports)}",
        markdown_table(
            ["report", "status", "period", "read", "loaded", "rejected", "changed", "note"],
            reports,
        ),
    ]
    if notes:
        parts += ["## Not loaded", "\n".join(f"- {note}" for note in notes)]
    rejecting = [r.run_id for r in summary.reports if r.result and r.result.rejected]
    parts += rejects_markdown(summary.rejects, rejecting)
    if months:
        parts += [
            "## Commission by currency for the months touched (ledger totals, not reversed)",
            markdown_table(["month", "currency", "lines", "sales", "commission"], months),
        ]
    return "\n\n".join(parts + summary_line(link))


def pull_markdown(summary: PullSummary, *, link: str | None = None) -> str:
    """The artifact of a pull: each window, the counts, the rejected records, the ledger."""
    plan, result = summary.plan, summary.result
    parts = [
        f"# {plan.network} pull for {plan.title_name}",
        f"Window {plan.start:%Y-%m-%d %H:%M} to {plan.end:%Y-%m-%d %H:%M} UTC "
        f"in {len(plan.windows)} request window(s); status **{summary.status}**.",
    ]
    if summary.message:
        parts.append(f"Error: {summary.message}")
    if summary.window_records:
        parts += [
            "## Windows",
            markdown_table(
                ["days", "records"], [[days, str(n)] for days, n in summary.window_records]
            ),
        ]
    if result is not None:
        unchanged = result.records_read - result.inserted - result.changed - result.rejected
        parts.append(
            markdown_table(
                ["fetched", "loaded", "new", "changed", "unchanged", "rejected"],
                [
                    [
                        str(result.records_read),
                        str(result.loaded),
                        str(result.inserted),
                        str(result.changed),
                        str(unchanged),
                        str(result.rejected),
                    ]
                ],
            )
        )
    parts += rejects_markdown(summary.rejects, [summary.run_id])
    if summary.payments is not None:
        parts.append(summary.payments.line())
    if summary.ledger_totals:
        parts += [
            f"## Ledger totals for {plan.network} by currency and status",
            markdown_table(
                ["currency", "status", "lines", "sales", "commission"],
                [
                    [c, s, str(n), money(sales), money(commission)]
                    for c, s, n, sales, commission in summary.ledger_totals
                ],
            ),
        ]
    return "\n\n".join(parts + summary_line(link))


def payouts_markdown(
    arriving: Sequence[tuple[Any, ...]], overdue: Sequence[tuple[Any, ...]], *, days: int = 90
) -> str:
    """The ledger summary's "money arriving in the next 90 days" and "overdue" sections."""
    parts = [f"## Money arriving in the next {days} days"]
    if arriving:
        parts.append(
            markdown_table(
                ["network", "currency", "amount", "likely", "lines"],
                [[str(v) for v in row] for row in arriving],
            )
        )
    else:
        parts.append("No payment is expected in that time.")
    parts.append("## Overdue")
    if overdue:
        parts += [
            "Approved lines more than 30 days past their expected payment day, not paid:",
            markdown_table(
                ["network", "account", "currency", "lines", "amount", "most days overdue"],
                [[str(v) for v in row] for row in overdue],
            ),
        ]
    else:
        parts.append("Nothing is overdue.")
    return "\n\n".join(parts)
