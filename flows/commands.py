"""The `passive` commands (typer): ingest, pull, tally, rejects, demo, serve and secrets.

Each command parses its arguments, calls the library (flows/ledger.py: `Ledger`) and prints.
Light to import: what a command needs beyond typer is imported inside it, so that an unchanged
re-ingest answers in a fraction of a second (bench/: `python -m bench reingest`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.accounts_cli import ConfigOption
from flows.accounts_cli import accounts as accounts_command
from flows.console import IN_PROCESS_NOTE, console, spinner, tracked_api
from flows.fx_cli import fx_app
from flows.options import (
    MARKETPLACES_SHOWN,
    BasisOption,
    ByOption,
    DbOption,
    FormatOption,
    MarketplaceCode,
    MarketplaceOption,
    Network,
    NetworkFilter,
)
from flows.output import OneLineErrors
from flows.output import emit as _emit
from flows.output import fail as _fail
from flows.payments_cli import FORECAST_MONTHS, forecast, print_payments_line
from flows.payments_cli import commands as payments_commands
from flows.runmode import prefect_api_url

app = typer.Typer(
    name="passive",
    help=(
        "Passive Ledger: count affiliate commission income exactly, in a DuckDB ledger.\n\n"
        "Try `passive demo`, then `passive tally --by month`."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
out = console()
err = console(stderr=True)


def _check_db(db: Path | None) -> None:
    """Refuse a `--db` that cannot be a ledger file in one line, before any work (or any
    tracked flow run, whose failure would print Prefect's logs instead)."""
    from warehouse.connection import LedgerPathError, check_ledger_path

    try:
        check_ledger_path(db)
    except LedgerPathError as error:
        raise _fail(str(error)) from None


def run_tags(flow_name: str, parameters: dict[str, Any]) -> list[str]:
    """The tags prefect.yaml gives the deployments of `flow_name` that match `parameters`."""
    from flows.deployments import load_specs

    found: list[str] = []
    for spec in load_specs():
        if not spec.entrypoint.endswith(f".{flow_name.replace('-', '_')}"):
            continue
        if all(parameters.get(k, v) == v for k, v in spec.parameters.items() if v is not None):
            found += [t for t in spec.tags if t not in found]
    return found or ["passive"]


def _tracked(flow: Any, what: str, **parameters: Any) -> Any:
    """Run a flow tracked by the Prefect server; a failed run ends in one `error:` line.

    Prefect re-raises the flow's exception after its own logs; the user needs the cause once,
    last, and the run to look at (flows/hooks.py already logged it in the run).
    """
    from prefect import tags

    from flows.foreground import foreground_runs
    from flows.hooks import failure_cause

    # The tags of the deployment that runs this flow on schedule (prefect.yaml), so that
    # alerts (`passive alerts`) and filters in the UI treat a CLI run like a scheduled one.
    with tags(*run_tags(flow.name, parameters)), foreground_runs():
        state = flow(**parameters, return_state=True)
    if state.is_completed():
        return state.result()
    raise _fail(f"{what} failed: {failure_cause(state)}; the run's logs are in the Prefect UI")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Report files (.csv, .tsv, .txt or .zip).")],
    account: Annotated[
        str, typer.Option(help="Your name for this Associates account, e.g. mysite-us.")
    ],
    network: Annotated[
        Network, typer.Option(help="Network the reports come from (amazon only).")
    ] = Network.AMAZON,
    marketplace: MarketplaceOption = MarketplaceCode.US,
    db: DbOption = None,
    force: Annotated[
        bool, typer.Option(help="Re-apply reports whose content was already ingested.")
    ] = False,
    period_start: Annotated[
        datetime | None,
        typer.Option(
            help="Report period start, for files without a title line.", formats=["%Y-%m-%d"]
        ),
    ] = None,
    period_end: Annotated[
        datetime | None,
        typer.Option(help="Report period end (inclusive).", formats=["%Y-%m-%d"]),
    ] = None,
) -> None:
    """Load Amazon Associates Fee-Earnings reports into the ledger.

    Each report replaces the account's lines in its period (a re-downloaded month replaces the
    earlier one); content already ingested is skipped. Bad lines go to `rejects`.

    Examples:

        passive ingest ~/Downloads/Fee-Earnings-2026-10.zip --account mysite-us

        passive ingest earnings-it.csv --account mysite-it --marketplace IT --db it.duckdb

    Exit codes: 0 loaded, 1 loaded but some lines were rejected, 2 bad input (nothing loaded).
    """
    from flows.ingest_summary import InputError
    from flows.ledger import Ledger
    from warehouse.connection import LedgerLockedError, LedgerPathError

    start = period_start.date() if period_start else None
    end = period_end.date() if period_end else None
    _check_db(db)
    if network != Network.AMAZON:
        raise _fail(
            f"--network {network.value}: only amazon report files can be ingested; "
            "API networks are pulled with `passive pull NETWORK`"
        )
    try:
        if tracked_api():
            from flows.ingest import ingest_report_files

            summary = _tracked(
                ingest_report_files,
                "ingest",
                paths=[str(f) for f in files],
                account=account,
                marketplace=marketplace.value,
                db=str(db) if db else None,
                force=force,
                period_start=start,
                period_end=end,
            )
        else:
            from connectors.digests import wait_early

            wait_early()  # the lookup needs those hashes first anyway
            summary = Ledger(db).ingest(
                files,
                account=account,
                marketplace=marketplace.value,
                force=force,
                period_start=start,
                period_end=end,
                progress=_progress("lines validated and staged"),
                # The CLI is one thread when the workers start: forking is safe and quick.
                start_method="fork",
            )
            err.print(IN_PROCESS_NOTE)
    except (InputError, LedgerLockedError, LedgerPathError) as error:
        raise _fail(str(error)) from None
    _print_summary(summary)
    raise typer.Exit(summary.exit_code)


def _progress(unit: str) -> Callable[[str], Any]:
    """A transient spinner on stderr for each stretch of a job: its description, then the
    count done so far (Ledger's `progress`)."""

    @contextmanager
    def stretch(description: str) -> Iterator[Callable[[int], None]]:
        if not err.is_terminal:
            # Piped, a transient spinner is one empty line: not worth loading rich.progress.
            yield lambda _done: None
            return
        with spinner(err) as progress:
            bar = progress.add_task(description, total=None)
            yield lambda done: progress.update(bar, description=f"{done:,} {unit}")

    return stretch


def _print_summary(summary: Any) -> None:
    from flows.ingest_summary import IngestSummary

    assert isinstance(summary, IngestSummary)
    for r in summary.reports:
        if r.status == "failed":
            # One line whatever its length: a wrapped reason reads as several errors.
            err.print(f"[red]failed[/] {r.name}: {r.message}", highlight=False, soft_wrap=True)
        elif r.status == "skipped":
            out.print(f"skipped {r.name}: {r.message}", highlight=False)
        else:
            res = r.result
            assert res is not None
            out.print(
                f"loaded {r.name} ({r.period_start} to {r.period_end}, {r.currency}): "
                f"{res.loaded} lines, {res.rejected} rejected, {res.inserted} new, "
                f"{res.removed} removed",
                highlight=False,
            )
            if r.message:
                err.print(
                    f"[yellow]warning[/] {r.name}: {r.message}", highlight=False, soft_wrap=True
                )
    if summary.total("rejected"):
        err.print("[yellow]some lines were rejected: see `passive rejects`[/]")
    if summary.months:
        _emit(
            ("month", "currency", "lines", "sales", "commission"),
            [
                (m.month, m.currency, m.lines, Decimal(m.sales), Decimal(m.commission))
                for m in summary.months
            ],
            "table",
            "Ledger totals for the months touched",
        )


@app.command()
def pull(
    network: Annotated[
        Network | None,
        typer.Argument(help="The network: every account of it.", show_default=False),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Start date (default: saved cursor minus lookback, or a year back).",
            formats=["%Y-%m-%d"],
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(help="Last date to pull, inclusive (default: now).", formats=["%Y-%m-%d"]),
    ] = None,
    db: DbOption = None,
    account: Annotated[
        str | None,
        typer.Option(
            help="Only this account of passive.toml (amazon without passive.toml: your name "
            "for the store, e.g. mysite-us)."
        ),
    ] = None,
    marketplace: MarketplaceOption = MarketplaceCode.US,
    every: Annotated[
        bool, typer.Option("--all", help="Every account of every network in passive.toml.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Pull commissions from a network's API into the ledger, incrementally.

    Credentials come from the environment or `.env`: PASSIVE_IMPACT_ACCOUNT_SID and
    PASSIVE_IMPACT_AUTH_TOKEN, PASSIVE_AWIN_TOKEN and PASSIVE_AWIN_PUBLISHER_ID,
    PASSIVE_CJ_TOKEN and PASSIVE_CJ_PUBLISHER_ID (and `PASSIVE_<NETWORK>_BASE_URL` to point
    elsewhere). Records that changed status are updated in place and recorded in
    `commission_changes`; the cursor moves only when the load committed.

    Examples:

        passive pull impact

        passive pull awin --since 2026-01-01

        passive pull cj --since 2026-09-01 --until 2026-09-30 --db cj.duckdb

        passive pull amazon --account mysite-uk --marketplace UK

        passive pull impact --account impact-shop

        passive pull --all

    With passive.toml (`--config`, $PASSIVE_CONFIG), NETWORK pulls each of its accounts,
    several at once, and prints one line per account: one failing never stops the others
    (exit code 2 if any failed). `passive accounts` lists them.

    amazon reads the Creators API Reporting API with PASSIVE_AMAZON_CLIENT_ID,
    PASSIVE_AMAZON_CLIENT_SECRET and PASSIVE_AMAZON_CREDENTIAL_VERSION: every report not yet
    taken in is downloaded, earnings reports load as `passive ingest` loads them, and
    --since/--until filter the reports' last-modified day.
    """
    from flows.ledger import Ledger
    from flows.pull_steps import PullInputError
    from warehouse.connection import LedgerLockedError, LedgerPathError

    start = since.date() if since else None
    end = until.date() if until else None
    _check_db(db)
    from flows.accounts_cli import fans_out, pull_accounts_command

    chosen = network.value if network else None
    if fans_out(chosen, account, every, config):
        raise typer.Exit(
            pull_accounts_command(
                network=chosen, account=account, every=every, since=start, until=end,
                db=db, config=config,
            )
        )  # fmt: skip
    assert network is not None  # fans_out takes every call without one
    if network == Network.AMAZON:
        from flows.amazon_cli import pull_amazon_command

        raise typer.Exit(
            pull_amazon_command(
                account=account,
                marketplace=marketplace.value,
                since=start,
                until=end,
                db=db,
                out=out,
                err=err,
            )
        )
    name = network.value
    try:
        if tracked_api():
            from flows.pull import pull_network

            summary = _tracked(
                pull_network, f"pull {name}", network=name, since=start, until=end,
                db=str(db) if db else None,
            )  # fmt: skip
        else:
            with spinner(err) as progress:
                bar = progress.add_task(f"pulling {name}", total=None)
                seen = [0]

                def advance(window: Any, records: int) -> None:
                    seen[0] += records
                    progress.update(
                        bar,
                        description=f"{name}: {seen[0]:,} records, up to {window.end:%Y-%m-%d}",
                    )

                summary = Ledger(db).pull(name, since=start, until=end, on_window=advance)
    except (PullInputError, LedgerLockedError, LedgerPathError) as error:
        raise _fail(str(error)) from None
    _print_pull(summary)
    raise typer.Exit(summary.exit_code)


def _print_pull(summary: Any) -> None:
    from flows.pull_steps import record_counts

    plan = summary.plan
    if summary.status == "failed":
        err.print(f"[red]pull {plan.network} failed[/]: {summary.message}", highlight=False)
        err.print("the ledger and the saved cursor are unchanged", highlight=False)
        return
    r = summary.result
    out.print(
        f"pulled {plan.network} ({plan.title_name}) {plan.start:%Y-%m-%d} to {plan.end:%Y-%m-%d}: "
        f"{record_counts(r)}",
        highlight=False,
    )
    if r.rejected:
        err.print("[yellow]some records were rejected: see `passive rejects`[/]")
    print_payments_line(summary.payments)


@app.command()
def tally(
    by: ByOption = "month",
    db: DbOption = None,
    fmt: FormatOption = "table",
    network: NetworkFilter = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            help="Convert every line into this currency at ECB rates and add them up "
            "(default: $PASSIVE_BASE_CURRENCY; unset, each currency is shown apart).",
            show_default=False,
        ),
    ] = None,
    basis: BasisOption = "event",
) -> None:
    """Show commission per group and currency, split by status.

    `net` is pending + approved + paid; currencies are never added together, unless
    --currency converts them at ECB reference rates (`passive fx update` first).

    Examples:

        passive tally --by month

        passive tally --by network --format csv > income.csv

        passive tally --by month --currency EUR
    """
    only = network.value if network else None
    base = currency or os.environ.get("PASSIVE_BASE_CURRENCY")
    if base:
        from flows.fx_cli import tally_in

        tally_in(by=by, base=base, basis=basis, db=db, fmt=fmt, network=only, account=account)
        return
    from flows.ledger import Ledger
    from warehouse.connection import LedgerLockedError, LedgerPathError

    try:
        result = Ledger(db).tally(by, network=only, account=account)
    except (FileNotFoundError, LedgerLockedError, LedgerPathError) as error:
        raise _fail(str(error)) from None
    _emit(result.columns, result.rows, fmt, f"Commission by {by}")


@app.command()
def rejects(
    run: Annotated[str | None, typer.Option("--run", help="Only this run id.")] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).")] = 50,
) -> None:
    """List records that failed validation, where they were and why (newest first).

    Examples:

        passive rejects

        passive rejects --run 3f2a... --format json
    """
    from flows.ledger import Ledger
    from warehouse.connection import LedgerLockedError, LedgerPathError

    try:
        listed = Ledger(db).rejects(run=run, limit=limit)
    except (FileNotFoundError, LedgerLockedError, LedgerPathError) as error:
        raise _fail(str(error)) from None
    _emit(listed.columns, listed.rows, fmt, "Rejected records")


@app.command()
def demo(
    db: DbOption = None,
    workdir: Annotated[
        Path, typer.Option(help="Where the generated sample reports are written.")
    ] = Path("demo-reports"),
    in_process: Annotated[
        bool, typer.Option(help="Skip Prefect (faster start; no tracked runs).")
    ] = False,
) -> None:
    """Run the whole job on shipped sample data and print the monthly tally.

    Generates sample Amazon reports (US, UK and IT stores, with returns and a restated
    month), runs them through the Prefect flows into the ledger, and prints the tally and
    the money expected from the networks in the next six months.

    Example:

        passive demo --db /tmp/demo.duckdb
    """
    from flows.demo import run_demo
    from flows.serve import ServeError

    _check_db(db)
    try:
        code = run_demo(db=db, workdir=workdir, use_prefect=not in_process, console=out)
    except ServeError as error:  # the temporary Prefect server would not start
        raise _fail(f"{error}; `passive demo --in-process` runs without Prefect") from None
    tally(by="month", db=db, fmt="table", network=None, account=None)
    # Per account: the demo's stores and its five API accounts (sandbox/passive.demo.toml).
    tally(by="account", db=db, fmt="table", network=None, account=None)
    if not os.environ.get("PASSIVE_BASE_CURRENCY"):  # else the tally above was converted
        from flows.fx_cli import tally_in

        tally_in(by="month", base="EUR", basis="event", db=db, fmt="table", network=None,
                 account=None)  # fmt: skip
    forecast(db=db, months=FORECAST_MONTHS, as_of=None, threshold=None, fmt="table")
    raise typer.Exit(code)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port of the local Prefect server and UI.")] = 4200,
    host: Annotated[str, typer.Option(help="Address the local server listens on.")] = "127.0.0.1",
    home: Annotated[
        Path | None,
        typer.Option(
            help="The local server's data folder. Default: $PASSIVE_PREFECT_HOME, "
            "else ~/.passive/prefect.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    inbox: Annotated[
        Path | None,
        typer.Option(help="Folder amazon-inbox watches. Default: ./inbox.", show_default=False),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            help="Account name for inbox reports (default from prefect.yaml).", show_default=False
        ),
    ] = None,
    marketplace: Annotated[
        MarketplaceCode | None,
        typer.Option(
            case_sensitive=False,
            metavar=MARKETPLACES_SHOWN,
            help="Store of the inbox reports (default: prefect.yaml).",
            show_default=False,
        ),
    ] = None,
    prefect_file: Annotated[
        Path | None,
        typer.Option(
            help="Deployments file. Default: the project's prefect.yaml.", show_default=False
        ),
    ] = None,
) -> None:
    """Run everything on schedule: a local Prefect server and every deployment of prefect.yaml.

    Starts `prefect server start` on 127.0.0.1:4200 (telemetry off, data in
    ~/.passive/prefect) unless PREFECT_API_URL points at a server already, then serves
    amazon-inbox (every 15 minutes), impact-daily, awin-daily, cj-daily, amazon-daily
    (Creators API), ledger-summary, ingest-files and fx-daily (ECB rates, weekdays 17:00
    Berlin) from this one process. Open
    the UI at http://127.0.0.1:4200 to see runs, their logs and the `passive-income` artifact.
    Ctrl-C stops; the schedules stay active.
    While it runs, `passive ingest` and `passive pull` in another terminal become tracked runs.

    Examples:

        passive serve

        passive serve --inbox ~/Downloads/amazon --account mysite-us --marketplace US

        passive serve --port 4300 --db ~/income/ledger.duckdb
    """
    from flows.deployments import PREFECT_YAML
    from flows.serve import ServeError, default_home
    from flows.serve import serve as run_serve
    from warehouse.connection import absolute_ledger

    overrides: dict[str, Any] = {
        "inbox": str(inbox) if inbox else None,
        "account": account,
        "marketplace": marketplace.value if marketplace else None,
    }
    configured = prefect_api_url()
    _check_db(db)
    try:
        run_serve(
            home=(home or default_home()).expanduser().resolve(),
            host=host,
            port=port,
            api_url=configured.rstrip("/") if configured else None,
            db=Path(absolute_ledger(db)),
            overrides=overrides,
            prefect_file=prefect_file or PREFECT_YAML,
            say=lambda text: err.print(text, highlight=False, soft_wrap=True),
        )
    except (ServeError, OSError, ValueError) as error:
        raise _fail(str(error), code=1) from None


secrets_app = typer.Typer(
    help=(
        "Network credentials as Prefect Secret blocks (`passive-NETWORK-SETTING`).\n\n"
        "Scheduled pulls read them before the environment and .env."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(secrets_app, name="secrets")
app.add_typer(fx_app, name="fx")
app.registered_commands += payments_commands.registered_commands  # forecast, payments
app.command(name="accounts")(accounts_command)


def _require_api(what: str) -> None:
    if not tracked_api():
        raise _fail(
            f"{what} needs a Prefect server: start `passive serve` in another terminal, or set "
            "PREFECT_API_URL"
        )


@secrets_app.command("set")
def secrets_set(
    name: Annotated[
        str,
        typer.Argument(
            help="An account of passive.toml, or a network (impact, awin, cj, amazon).",
            metavar="ACCOUNT",
            show_default=False,
        ),
    ],
    from_env: Annotated[
        bool,
        typer.Option(
            "--from-env",
            help="Store the values the environment (or .env) holds now, without asking.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Store an account's credentials as Prefect Secret blocks; input is not echoed.

    Asks for each credential (e.g. PASSIVE_IMPACT_ACCOUNT_SID and PASSIVE_IMPACT_AUTH_TOKEN)
    and saves it as a Secret block (passive-impact-account-sid, passive-impact-auth-token).
    An account of passive.toml gets its own blocks, `passive-<account>-<setting>` (its
    `login`'s for the credentials it shares). An empty answer keeps what is stored.

    Examples:

        passive secrets set impact

        passive secrets set impact-shop

        passive secrets set amazon
    """
    from flows.pull_steps import PullInputError
    from flows.secrets import account_named

    try:
        account = account_named(name, config)
    except PullInputError as error:
        raise _fail(str(error)) from None
    _require_api("storing secrets")
    from flows.secrets import block_name, credential_fields, store_secret

    try:
        # An id the account's table gives (an Awin publisher id) is no secret to store.
        fields = tuple(f for f in credential_fields(account.network) if f not in account.settings)
        given = _credentials_from_env(account, fields) if from_env else {}
        for field in fields:
            value = given[field] if from_env else _ask_hidden(account.variable(field))
            block = block_name(account.owner(field), field)
            if value.strip():
                store_secret(block, value.strip())
                out.print(f"stored {block}", highlight=False)
            else:
                out.print(f"kept {block}", highlight=False)
    except PullInputError as error:
        raise _fail(str(error)) from None
    finally:
        _drain_prefect_events()


def _ask_hidden(setting: str) -> str:
    """One credential from the terminal without echo, or one line of piped input.

    getpass on a pipe warns (GetPassWarning) and may read the terminal instead of the pipe.
    """
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    value: str = typer.prompt(
        f"{setting} (hidden; empty keeps the stored one)",
        default="",
        hide_input=True,
        show_default=False,
    )
    return value


def _credentials_from_env(account: Any, fields: tuple[str, ...]) -> dict[str, str]:
    """Each credential as the environment and .env give it now; missing ones are an error."""
    from pydantic import ValidationError

    from connectors.accounts import account_settings, settings_problem
    from connectors.errors import ConnectorError

    try:
        settings = account_settings(account)
        return {field: settings.credential(field) for field in fields}
    except ValidationError as error:
        raise _fail(settings_problem(account, error)) from None
    except ConnectorError as error:
        raise _fail(str(error)) from None


def _drain_prefect_events() -> None:
    """Send the events that saving blocks queued before the command ends, quietly.

    Prefect's worker services warn "Still processing items: N items remaining..." whenever
    they stop with anything queued (prefect/_internal/concurrency/services.py), which a
    user reads as a problem; the items are sent all the same.
    """
    import logging

    from prefect.events.worker import EventsWorker

    for name in ("EventsWorker", "APILogWorker"):  # the services' logger names
        logging.getLogger(name).setLevel(logging.ERROR)
    EventsWorker.drain_all()


@secrets_app.command("list")
def secrets_list(
    network: Annotated[Network | None, typer.Argument(help="Only this network's accounts.")] = None,
    config: ConfigOption = None,
) -> None:
    """Show which credential Secret blocks each account has (never their values).

    One row per account of passive.toml and credential (without passive.toml, each network's
    one account, named after it); an account sharing a `login` shows the login's blocks.

    Examples:

        passive secrets list

        passive secrets list impact --config ~/income/passive.toml
    """
    from flows.pull_steps import PullInputError, load_accounts

    _require_api("reading secrets")
    from connectors.accounts import implicit_account
    from flows.secrets import account_blocks, secret_networks, stored_blocks_of

    try:
        found = load_accounts(config)
    except PullInputError as error:
        raise _fail(str(error)) from None
    # Without passive.toml every network has its one account, Amazon's Creators API too.
    every = found.accounts if found.path else [implicit_account(n) for n in secret_networks()]
    accounts = [a for a in every if network is None or a.network == network.value]
    stored = stored_blocks_of(accounts)
    rows: list[tuple[Any, ...]] = [
        (account.name, account.network, block, "stored" if stored[block] else "-")
        for account in accounts
        for block in account_blocks(account)
    ]
    _emit(("account", "network", "block", "state"), rows, "table", "Secret blocks")


alerts_app = typer.Typer(
    help=(
        "Notifications when a `passive` run fails, crashes or completes with rejects "
        "(Prefect notification blocks and automations)."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("add")
def alerts_add(
    name: Annotated[str, typer.Option(help="The alert's name.")] = "default",
    slack_webhook: Annotated[
        str | None, typer.Option(help="A Slack incoming-webhook URL.", show_default=False)
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(help="Any URL that takes a JSON POST {subject, text}.", show_default=False),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(
            help="A notification block you made already, as TYPE/NAME "
            "(e.g. `slack-webhook/team`; `prefect block ls` lists them).",
            show_default=False,
        ),
    ] = None,
    email: Annotated[
        list[str] | None,
        typer.Option(
            help="Send the alert by email to this address (repeat for more), over SMTP.",
            show_default=False,
        ),
    ] = None,
    smtp: Annotated[
        str,
        typer.Option(help="With --email: the mail server, HOST or HOST:PORT (465: TLS)."),
    ] = "localhost:25",
    smtp_user: Annotated[
        str | None,
        typer.Option(
            help="With --email: the SMTP login; its password is read from "
            "PASSIVE_SMTP_PASSWORD (never from the command line).",
            show_default=False,
        ),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option(
            help="With --email: the From address (default: the login, else the first --email).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Notify when any `passive` run fails, crashes or ends "Completed with rejects".

    Creates the notification block (for a URL) and a Prefect automation
    `passive-alert-NAME` that fires for every run tagged `passive`: the scheduled deployments
    and the runs `passive ingest` / `passive pull` start while `passive serve` runs.

    Examples:

        passive alerts add --slack-webhook https://hooks.slack.com/services/T000/B000/XXXX

        passive alerts add --name ops --block pager-duty-webhook/on-call

        passive alerts add --email me@example.com --smtp smtp.example.com:587 --smtp-user me
    """
    _require_api("alerts")
    from flows.alerts import AlertError, EmailTarget, add_alert

    target = None
    if email:
        host, _, port = smtp.partition(":")
        if not host or (port and not port.isdigit()):
            raise _fail(f"--smtp {smtp}: give HOST or HOST:PORT, e.g. smtp.example.com:587")
        target = EmailTarget(
            to=tuple(email), smtp_host=host, smtp_port=int(port or 25), sender=sender,
            username=smtp_user, password=os.environ.get("PASSIVE_SMTP_PASSWORD"),
        )  # fmt: skip
    try:
        alert = add_alert(
            name, slack_webhook=slack_webhook, webhook=webhook, block=block, email=target
        )
    except AlertError as error:
        raise _fail(str(error)) from None
    out.print(f"alert {alert.name}: notifies {alert.target}", highlight=False)


@alerts_app.command("list")
def alerts_list(fmt: FormatOption = "table") -> None:
    """Show the alerts: name, where they notify, and whether they are on."""
    _require_api("alerts")
    from flows.alerts import list_alerts

    rows = [(a.name, a.target, "on" if a.enabled else "off") for a in list_alerts()]
    _emit(("name", "notifies", "state"), rows, fmt, "Alerts")


@alerts_app.command("remove")
def alerts_remove(name: Annotated[str, typer.Argument(help="The alert's name.")]) -> None:
    """Delete an alert's automation, and the notification block it created."""
    _require_api("alerts")
    from flows.alerts import AlertError, remove_alert

    try:
        remove_alert(name)
    except AlertError as error:
        raise _fail(str(error)) from None
    out.print(f"removed alert {name}", highlight=False)
