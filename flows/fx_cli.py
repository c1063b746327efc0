"""`passive fx update|load|show` and the base-currency tally (`passive tally --currency`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.console import IN_PROCESS_NOTE, console, tracked_api
from flows.options import Basis, DbOption, FormatOption, OutputFormat, TallyBy
from flows.output import emit as _emit
from flows.output import fail as _fail

fx_app = typer.Typer(
    help=(
        "ECB euro reference rates in the ledger (`fx_rates`), for tallies in one currency.\n\n"
        "`passive fx update` fetches them; `passive tally --currency EUR` uses them."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
out = console()
err = console(stderr=True)


def _print_load(result: Any) -> None:
    from warehouse.fx import FxLoadResult

    assert isinstance(result, FxLoadResult)
    out.print(
        f"ECB rates from {result.source}: {result.read} fixings {result.first_day} to "
        f"{result.last_day}, {result.inserted} new, {result.changed} re-published with another "
        f"value{' (see fx_rate_changes)' if result.changed else ''}, {result.unchanged} unchanged",
        highlight=False,
        soft_wrap=True,
    )


@fx_app.command("update")
def update(
    db: DbOption = None,
    full: Annotated[
        bool, typer.Option(help="Fetch the whole history even when the ledger has rates.")
    ] = False,
) -> None:
    """Fetch the ECB's reference rates into the ledger.

    The first time (or with --full, or after a gap of months) the whole history,
    eurofxref-hist.zip; after that the last 90 days, eurofxref-hist-90d.xml. Re-running it
    changes nothing; a fixing the ECB re-published with another value is updated and
    recorded in `fx_rate_changes`. PASSIVE_FX_BASE_URL points it elsewhere (scheme and host).

    Examples:

        passive fx update

        passive fx update --full --db ~/income/ledger.duckdb
    """
    from connectors.errors import ConnectorError
    from flows import fx_steps
    from flows.ledger import Ledger
    from warehouse.connection import LedgerLockedError

    try:
        if tracked_api():
            from flows.fx import fx_update

            result = fx_update(db=str(db) if db else None, full=full)
        else:
            result = Ledger(db).update_fx(full=full)
            err.print(IN_PROCESS_NOTE)
    except (fx_steps.FxInputError, ConnectorError, LedgerLockedError) as error:
        raise _fail(str(error)) from None
    _print_load(result)


@fx_app.command("load")
def load(
    path: Annotated[Path, typer.Argument(help="eurofxref-hist.zip, its CSV, or an ECB XML file.")],
    db: DbOption = None,
) -> None:
    """Load ECB reference rates from a downloaded file, offline.

    Reads the zip (eurofxref-hist.zip), the CSV inside it (`Date` then one column per
    currency; `N/A` is no rate), eurofxref-hist-90d.xml or eurofxref-daily.xml.

    Examples:

        passive fx load ~/Downloads/eurofxref-hist.zip

        passive fx load eurofxref-hist.csv --db it.duckdb
    """
    from flows import fx_steps
    from flows.ledger import Ledger
    from warehouse.connection import LedgerLockedError

    try:
        result = Ledger(db).load_fx(path)
    except (fx_steps.FxInputError, LedgerLockedError) as error:
        raise _fail(str(error)) from None
    _print_load(result)


@fx_app.command("show")
def show(
    currency: Annotated[
        list[str] | None, typer.Option("--currency", "-c", help="Only these (repeatable).")
    ] = None,
    day: Annotated[
        datetime | None,
        typer.Option(
            help="The newest day to show (default: the latest fixing).", formats=["%Y-%m-%d"]
        ),
    ] = None,
    days: Annotated[int, typer.Option(help="How many fixing days to show.", min=1)] = 1,
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Show the rates in the ledger: units of each currency per euro, and their source.

    Examples:

        passive fx show

        passive fx show -c USD -c GBP --days 5
    """
    from flows.fx_steps import FxInputError
    from flows.ledger import Ledger
    from warehouse.connection import LedgerLockedError

    try:
        result = Ledger(db).fx_rates(
            currencies=currency, day=day.date() if day else None, days=days
        )
    except (FxInputError, FileNotFoundError, LedgerLockedError) as error:
        raise _fail(str(error)) from None
    if not result.rows:
        err.print("no ECB rates in the ledger yet: run `passive fx update` or `passive fx load`")
    _emit(result.columns, result.rows, fmt, "ECB reference rates (per EUR)")


def tally_in(
    *,
    by: TallyBy,
    base: str,
    basis: Basis,
    db: Path | None,
    fmt: OutputFormat,
    network: str | None,
    account: str | None,
) -> None:
    """`passive tally --currency BASE`: one total per group across currencies, and a footer
    counting the lines at a fallback fixing and those left unconverted."""
    from flows import fx_steps
    from flows.ledger import Ledger
    from warehouse.connection import LedgerLockedError

    try:
        code = fx_steps.base_currency(base)
        result = Ledger(db).tally_in(by, code, basis=basis, network=network, account=account)
    except (fx_steps.FxInputError, FileNotFoundError, LedgerLockedError) as error:
        raise _fail(str(error)) from None
    _emit(result.columns, result.rows, fmt, f"Commission by {by} in {code} ({basis} rates)")
    at = {name: i for i, name in enumerate(result.columns)}
    fallback = sum(int(row[at["fallback"]]) for row in result.rows)  # type: ignore[call-overload]
    unconverted = sum(int(row[at["unconverted"]]) for row in result.rows)  # type: ignore[call-overload]
    footer = console(stderr=fmt != "table")
    footer.print(
        f"{fallback} lines at a fixing up to 7 days before their day (weekend, holiday); "
        f"{unconverted} lines unconverted (no ECB rate within 7 days, or a currency the ECB "
        "does not quote): counted in `lines`, in none of the amounts",
        highlight=False,
        soft_wrap=True,
    )
