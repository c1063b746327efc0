"""Plain-text renderings of run summaries, shared by the CLI and the Prefect artifacts."""

from __future__ import annotations

import re

from flows.pipeline import IngestSummary


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
