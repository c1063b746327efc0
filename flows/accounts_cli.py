"""`passive accounts`, and `passive pull` over several accounts: the lines they print."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from flows.console import IN_PROCESS_NOTE, console, spinner, tracked_api
from flows.options import DbOption, FormatOption
from flows.output import emit, fail

out = console()
err = console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="The accounts file. Default: $PASSIVE_CONFIG, else ./passive.toml "
        "(none: one account per API network, from its PASSIVE_<NETWORK>_* variables).",
        show_default=False,
    ),
]


def accounts(
    config: ConfigOption = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """List every account: its network, where its credentials come from, and its last pull.

    Accounts are the `[accounts.NAME]` tables of passive.toml; without one, each API network
    has one account named after it, set by its PASSIVE_<NETWORK>_* variables.

    Examples:

        passive accounts

        passive accounts --config ~/income/passive.toml --format json
    """
    from flows.pull_steps import PullInputError, load_accounts

    try:
        found = load_accounts(config)
    except PullInputError as error:
        raise fail(str(error)) from None
    last = _last_runs(db)
    from flows.secrets import stored_blocks_of

    blocks = stored_blocks_of(found.accounts) if tracked_api() else None
    rows = []
    for account in found.accounts:
        run = last.get((account.network, account.name))
        rows.append(
            (
                account.name,
                account.network,
                account.marketplace or "",
                credential_sources(account, blocks),
                f"{run[0]:%Y-%m-%d %H:%M} {run[1]}" if run else "never",
            )
        )
    emit(
        ("account", "network", "marketplace", "credentials", "last pull"),
        rows,
        fmt,
        f"Accounts ({found.where})",
    )
    if not found.accounts:
        err.print(
            f"{found.where} has no accounts: add an [accounts.NAME] table with "
            'network = "impact" (or "awin", "cj", "amazon"); see the README',
            markup=False,
            highlight=False,
        )
    if blocks is None:
        err.print(
            "[dim]Secret blocks not checked: no Prefect server (start `passive serve` or set "
            "PREFECT_API_URL)[/]",
            highlight=False,
        )


def _last_runs(db: Path | None) -> dict[tuple[str, str], tuple[Any, str, int]]:
    from warehouse.connection import LedgerLockedError, LedgerPathError, ledger, ledger_exists
    from warehouse.tally import account_last_runs

    if not ledger_exists(db):
        return {}
    try:
        with ledger(db, read_only=True) as con:
            return account_last_runs(con)
    except (LedgerLockedError, LedgerPathError) as error:
        raise fail(str(error)) from None


def credential_sources(account: Any, blocks: dict[str, bool] | None) -> str:
    """Where each credential of an account comes from: its Secret block, a variable, the
    file, .env, or missing (naming the variable and block that would give it)."""
    from pydantic import ValidationError

    from connectors.accounts import account_settings, secret_block_name

    try:
        settings = account_settings(account)
    except ValidationError:
        settings = None
    parts = []
    for field in account.settings_class.credential_fields:
        block = secret_block_name(account.owner(field), field)
        variable = account.variable(field)
        value = getattr(settings, field, None) if settings is not None else None
        if blocks and blocks.get(block):
            parts.append(f"{field}: block {block}")
        elif variable in os.environ:
            parts.append(f"{field}: ${variable}")
        elif field in account.settings:
            parts.append(f"{field}: passive.toml")
        elif value:
            parts.append(f"{field}: .env")
        else:
            parts.append(f"{field}: MISSING ({variable} or block {block})")
    return "; ".join(parts)


def fans_out(network: str | None, account: str | None, every: bool, config: Path | None) -> bool:
    """Whether `pull` goes over accounts (one line each) rather than the one account of
    before passive.toml: so, without passive.toml, `pull impact` prints what it always did."""
    from flows.pull_steps import PullInputError, load_accounts

    if every or network is None:
        return True
    try:
        found = load_accounts(config)
    except PullInputError as error:
        raise fail(str(error)) from None
    if found.path is None:
        return network != "amazon" and account not in (None, network)
    if network == "amazon" and account is not None:
        # A store of passive.toml, or else one named on the command line with --marketplace.
        return found.named(account) is not None
    return True


def pull_accounts_command(
    *,
    network: str | None,
    account: str | None,
    every: bool,
    since: date | None,
    until: date | None,
    db: Path | None,
    config: Path | None,
) -> int:
    """Pull the accounts `network` / `--account` / `--all` mean; print one line per account
    and a table of outcomes; return the exit code (2 if any account failed)."""
    from flows.account_steps import FanOutSummary, pull_accounts, select_accounts
    from flows.pull_steps import PullInputError

    try:
        chosen = select_accounts(network, account, every=every, config=config)
        if tracked_api():
            summary = _tracked_fan_out(network, account, every, since, until, db, config)
        else:
            with spinner(err) as progress:
                bar = progress.add_task(f"pulling {len(chosen)} accounts", total=len(chosen))

                def done(outcome: Any) -> None:
                    progress.update(bar, advance=1)
                    progress.console.print(
                        outcome.line, highlight=False, soft_wrap=True, markup=False
                    )

                summary = pull_accounts(chosen, db=db, since=since, until=until, on_done=done)
            err.print(IN_PROCESS_NOTE)
    except PullInputError as error:
        raise fail(str(error)) from None
    assert isinstance(summary, FanOutSummary)
    print_fan_out(summary, out)
    return summary.exit_code


def _tracked_fan_out(
    network: str | None,
    account: str | None,
    every: bool,
    since: date | None,
    until: date | None,
    db: Path | None,
    config: Path | None,
) -> Any:
    from flows.accounts_flow import pull_accounts
    from flows.hooks import failure_cause

    state = pull_accounts(
        network=network,
        account=account,
        every=every,
        since=since,
        until=until,
        db=str(db) if db else None,
        config=str(config) if config else None,
        return_state=True,
    )
    if state.is_completed():
        return state.result()
    raise fail(f"pull failed: {failure_cause(state)}; the run's logs are in the Prefect UI")


def print_fan_out(summary: Any, to: Console) -> None:
    """The table of every account's outcome, then the headline."""
    emit(
        ("network", "account", "outcome", "records", "new", "changed", "rejected"),
        [
            (o.network, o.account, o.status, o.records, o.new, o.changed, o.rejected)
            for o in summary.outcomes
        ],
        "table",
        summary.headline,
    )
    for outcome in summary.outcomes:
        if outcome.status == "failed":
            err.print(f"[red]failed[/] {escape(outcome.line)}", highlight=False, soft_wrap=True)
