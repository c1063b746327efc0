"""`passive pull amazon --account NAME --marketplace CODE`: run the pull and print what it did."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows import amazon_pull
from flows.console import IN_PROCESS_NOTE, spinner, tracked_api


def pull_amazon_command(
    *,
    account: str | None,
    marketplace: str,
    since: date | None,
    until: date | None,
    db: Path | None,
    out: Console,
    err: Console,
) -> int:
    """Run one pull (a tracked Prefect run when a server is configured) and return the exit code.

    Bad usage, the access gate, a bad md5 or refused credentials print one line and return 2
    with nothing changed.
    """
    from connectors.errors import ConnectorError
    from flows.ledger import Ledger
    from flows.pull_steps import PullInputError
    from warehouse.connection import LedgerLockedError

    if not account:
        err.print(
            "[bold red]error:[/] --account NAME is required for amazon (your name for the "
            "store, e.g. mysite-us); --marketplace picks the store (default US)",
            highlight=False,
        )
        return 2
    try:
        if tracked_api():
            from flows.amazon_flow import pull_amazon

            summary = pull_amazon(
                account=account,
                marketplace=marketplace.upper(),
                since=since,
                until=until,
                db=str(db) if db else None,
            )
        else:
            with spinner(err) as progress, tempfile.TemporaryDirectory() as folder:
                bar = progress.add_task(f"amazon {marketplace}: listing reports", total=None)
                summary = Ledger(db).pull_amazon(
                    account=account,
                    marketplace=marketplace,
                    since=since,
                    until=until,
                    folder=Path(folder),
                    on_download=lambda listing: progress.update(
                        bar, description=f"amazon: downloading {listing.filename}"
                    ),
                )
            err.print(IN_PROCESS_NOTE)
    except (PullInputError, LedgerLockedError) as error:
        err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        return 2
    except ConnectorError as error:
        err.print(f"[bold red]pull amazon failed:[/] {error}", highlight=False, soft_wrap=True)
        return 2
    print_summary(summary, out, err)
    return summary.exit_code


def print_summary(summary: amazon_pull.AmazonPullSummary, out: Console, err: Console) -> None:
    """One line per report, then the ledger's totals for the months touched."""
    listed = summary.listed
    out.print(
        f"amazon {summary.account} ({summary.marketplace}): {listed.offered} reports listed, "
        f"{listed.in_range} in range, {len(listed.new)} new downloaded",
        highlight=False,
    )
    for line in summary.reports:
        if line.status == "loaded":
            out.print(
                f"loaded {line.report} ({line.period_start} to {line.period_end}, "
                f"{line.currency}): {line.loaded} lines, {line.rejected} rejected, "
                f"{line.inserted} new, {line.removed} removed",
                highlight=False,
            )
        elif line.status == "skipped":
            out.print(f"skipped {line.report}: {line.note}", highlight=False)
        else:
            err.print(f"[red]refused[/] {line.report}: {line.note}", highlight=False)
    if summary.rejected:
        err.print("[yellow]some lines were rejected: see `passive rejects`[/]")
    if summary.months:
        table = Table(title="Ledger totals for the months touched", title_justify="left")
        for column in ("month", "currency", "lines", "sales", "commission"):
            table.add_column(column, justify="left" if column in ("month", "currency") else "right")
        for m in summary.months:
            table.add_row(m.month.isoformat(), m.currency, str(m.lines), m.sales, m.commission)
        out.print(table)
