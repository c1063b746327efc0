"""Plain-text renderings of run summaries, shared by the CLI and the Prefect artifacts."""

from __future__ import annotations

import re

from flows.pipeline import IngestSummary
from flows.pull_steps import PullSummary


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) from free text."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-style markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ingest_markdown(summary: IngestSummary) -> str:
    """The artifact of an ingest run: per report counts, then commission per month touched."""
    reports = [
        [
            r.name,
            r.status,
            f"{r.period_start} to {r.period_end}",
            str(r.result.records_read if r.result else 0),
            str(r.result.loaded if r.result else 0),
            str(r.result.rejected if r.result else 0),
            str((r.result.inserted + r.result.changed + r.result.removed) if r.result else 0),
            r.message or "",
        ]
        for r in summary.reports
    ]
    months = [
        [m.month.strftime("%Y-%m"), m.currency, str(m.lines), m.sales, m.commission]
        for m in summary.months
    ]
    t = summary.total
    changed = t("inserted") + t("changed") + t("removed")
    parts = [
        f"# {summary.network} ingest for {summary.account}",
        f"Lines read **{t('records_read')}**, loaded **{t('loaded')}**, "
        f"rejected **{t('rejected')}**, changed **{changed}** (inserted {t('inserted')}, "
        f"changed {t('changed')}, removed {t('removed')}).",
        "## Reports",
        markdown_table(
            ["report", "status", "period", "read", "loaded", "rejected", "changed", "note"],
            reports,
        ),
    ]
    if months:
        parts += [
            "## Commission by currency for the months touched (ledger totals, not reversed)",
            markdown_table(["month", "currency", "lines", "sales", "commission"], months),
        ]
    return "\n\n".join(parts)


def pull_markdown(summary: PullSummary) -> str:
    """The artifact of a pull: fetched/new/changed/rejected, then ledger totals per currency."""
    plan, result = summary.plan, summary.result
    parts = [
        f"# {plan.network} pull for {plan.account}",
        f"Window {plan.start:%Y-%m-%d %H:%M} to {plan.end:%Y-%m-%d %H:%M} UTC "
        f"in {len(plan.windows)} request window(s); status **{summary.status}**.",
    ]
    if summary.message:
        parts.append(f"Error: {summary.message}")
    if result is not None:
        parts.append(
            markdown_table(
                ["fetched", "loaded", "new", "changed", "rejected"],
                [
                    [
                        str(result.records_read),
                        str(result.loaded),
                        str(result.inserted),
                        str(result.changed),
                        str(result.rejected),
                    ]
                ],
            )
        )
    if summary.payments is not None:
        parts.append(summary.payments.line())
    if summary.ledger_totals:
        parts += [
            f"## Ledger totals for {plan.network} by currency and status",
            markdown_table(
                ["currency", "status", "lines", "sales", "commission"],
                [
                    [c, s, str(n), sales, commission]
                    for c, s, n, sales, commission in summary.ledger_totals
                ],
            ),
        ]
    return "\n\n".join(parts)
