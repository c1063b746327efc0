"""API pulls as plain functions: plan the windows, fetch them, load them with the cursor."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors import API_NETWORKS
from connectors import accounts as account_config
from connectors.accounts import Account, implicit_account
from connectors.base import DateWindow, split_windows
from connectors.errors import ConnectorError
from connectors.settings import NetworkSettings
from connectors.stream import Stream
from flows import pull_loop
from flows.payment_steps import PaymentsSummary, pull_and_load_payments
from schemas.validation import ColumnarBatch
from warehouse.connection import ledger
from warehouse.load import load_batches, new_run_id, to_columnar
from warehouse.payments import load_terms
from warehouse.rejects import RejectSample, reject_sample
from warehouse.runs import (
    LoadResult,
    RunInfo,
    finish_run,
    get_cursor,
    set_cursor,
    start_run,
    utc_now,
)
from warehouse.tally import account_totals

STREAM = "transactions"
FIRST_PULL_DAYS = 365


class PullInputError(ValueError):
    """Bad usage of `pull` (unknown network, bad dates, missing credentials): exit code 2."""


@dataclass(frozen=True)
class PullPlan:
    """What one pull will fetch: the network, the account and the windows of [start, end)."""

    network: str
    account: str
    start: datetime
    end: datetime
    windows: tuple[DateWindow, ...]
    # What titles call the account: PASSIVE_<NETWORK>_ACCOUNT_NAME, else the network's label;
    # never the SID or publisher id, which `account` holds for the ledger.
    account_name: str = ""

    @property
    def title_name(self) -> str:
        """The account as titles show it."""
        return self.account_name or f"{self.network} account"


@dataclass
class PullSummary:
    """What a pull did, for the CLI and the Prefect artifact."""

    plan: PullPlan
    run_id: str
    status: str  # completed | completed_with_rejects | failed
    result: LoadResult | None = None
    message: str | None = None
    ledger_totals: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    rejects: RejectSample = field(default_factory=RejectSample)
    window_records: list[tuple[str, int]] = field(default_factory=list)  # (days, records)
    # The network's payments, pulled after its lines (None: it has no payments API).
    payments: PaymentsSummary | None = None

    @property
    def exit_code(self) -> int:
        """0 ok, 1 some records rejected (or the payments could not be pulled), 2 the pull
        failed and changed nothing."""
        if self.status == "failed":
            return 2
        if self.payments is not None and (
            self.payments.error is not None
            or (self.payments.result is not None and self.payments.result.rejected)
        ):
            return 1
        return 1 if self.result and self.result.rejected else 0


def secret_block_name(owner: str, field: str) -> str:
    """The Prefect Secret block holding one setting of an account (or of the account named
    after its network): passive-impact-auth-token, passive-impact-shop-auth-token."""
    return account_config.secret_block_name(owner, field)


def record_counts(result: LoadResult) -> str:
    """Every pulled record accounted for: "3150 records: 2000 new, 0 changed, 1150 unchanged,
    0 rejected". Unchanged: already in the ledger as fetched, or read twice in one pull, as
    Awin's validated records are (it is read by transaction date, then by validation date)."""
    unchanged = result.records_read - result.inserted - result.changed - result.rejected
    return (
        f"{result.records_read} records: {result.inserted} new, {result.changed} changed, "
        f"{unchanged} unchanged, {result.rejected} rejected"
    )


def connector_for(network: str) -> Stream[Any]:
    """The declared API stream of `network`, or a usage error listing the known ones."""
    try:
        return API_NETWORKS[network]
    except KeyError:
        known = ", ".join(sorted(API_NETWORKS))
        raise PullInputError(f"unknown network {network!r}; API networks: {known}") from None


def load_accounts(config: str | os.PathLike[str] | None = None) -> account_config.Accounts:
    """passive.toml's accounts (or the implicit ones); a bad file is a usage error, one line."""
    try:
        return account_config.load_accounts(config)
    except account_config.ConfigError as error:
        raise PullInputError(str(error)) from None


def resolve_account(
    network: str, name: str | None, config: str | os.PathLike[str] | None = None
) -> Account:
    """The one account of `network` to pull: `name` in passive.toml; with no name, the
    network's only account (without passive.toml: the one named after the network)."""
    connector_for(network)
    accounts = load_accounts(config)
    if name is None:
        found = accounts.of(network)
        if len(found) == 1:
            return found[0]
        if not found:
            raise PullInputError(
                f"{accounts.where}: no {network} account; add an [accounts.NAME] table "
                f'with network = "{network}"'
            )
        names = ", ".join(a.name for a in found)
        raise PullInputError(f"{network} has {len(found)} accounts ({names}); name one")
    account = accounts.named(name)
    if account is None:
        names = ", ".join(a.name for a in accounts.of(network)) or "none"
        raise PullInputError(f"{accounts.where}: no account {name!r}; {network} accounts: {names}")
    if account.network != network:
        raise PullInputError(f"account {name!r} is a {account.network} account, not {network}")
    return account


def load_settings(
    network: str, overrides: Mapping[str, Any] | None = None, account: Account | None = None
) -> NetworkSettings:
    """Read an account's settings and check its credentials before any request is made.

    `account` defaults to the one named after the network (PASSIVE_<NETWORK>_*, no
    passive.toml). `overrides` (e.g. from Prefect Secret blocks) win over everything else.
    """
    connector_for(network)
    account = account or implicit_account(network)
    try:
        settings = account_config.account_settings(account, overrides)
        settings.note_secret_blocks(
            {f: secret_block_name(account.owner(f), f) for f in overrides or {}}
        )
        settings.require_credentials()
    except ConnectorError as error:
        raise PullInputError(str(error)) from None
    except ValidationError as error:  # pydantic-settings: a malformed PASSIVE_* value
        raise PullInputError(account_config.settings_problem(account, error, overrides)) from None
    except ValueError as error:
        raise PullInputError(f"{network} settings: {error}") from None
    return settings


def settings_problem(
    network: str,
    settings_class: type[NetworkSettings],
    error: ValidationError,
    overrides: Mapping[str, Any],
) -> str:
    """One line naming each bad PASSIVE_* setting, where it came from, and what is expected.

    pydantic's own text spans several lines and a documentation link per error.
    """
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        name = settings_class.env_name(field) if field else settings_class.__name__
        if field in overrides:
            source = f"Secret block {secret_block_name(network, field)}"
        else:
            source = "environment" if name in os.environ else ".env"
        # A validator's ValueError reads "Value error, <our message>" (pydantic's prefix).
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{name} (from the {source}): {message}")
    return "; ".join(problems)


def plan_pull(
    network: str,
    *,
    db: str | Path | None,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
    overrides: Mapping[str, Any] | None = None,
    account: Account | None = None,
) -> PullPlan:
    """Decide the range: `--since`, else the saved cursor minus the lookback, else a year back.

    `until` is inclusive (the whole day); without it the pull ends now.
    """
    settings = load_settings(network, overrides, account)
    name = connector_for(network).account(settings)
    now = now or datetime.now(UTC)
    end = datetime.combine(until + timedelta(days=1), time(), UTC) if until else now
    if since is not None:
        start = datetime.combine(since, time(), UTC)
    else:
        with ledger(db) as con:
            cursor = get_cursor(con, network=network, account=name, stream=STREAM)
        if cursor is not None:
            start = cursor.astimezone(UTC) - timedelta(days=settings.lookback_days)
        else:
            start = end - timedelta(days=FIRST_PULL_DAYS)
    if start >= end:
        raise PullInputError(f"--since {start.date()} is not before the end {end.date()}")
    windows = tuple(split_windows(start, end, settings.max_window_days))
    named = name != network  # an account of passive.toml: its name is the title
    title = settings.account_name or (name if named else f"{settings.label or network} account")
    return PullPlan(network, name, start, end, windows, account_name=title)


def fetch_window(
    network: str,
    window: DateWindow,
    overrides: Mapping[str, Any] | None = None,
    account: Account | None = None,
) -> list[ColumnarBatch]:
    """Fetch and validate one window, holding the result as Arrow (the ledger stays closed)."""
    settings = load_settings(network, overrides, account)
    stream = connector_for(network)
    batches = pull_loop.pull(stream, settings, window.start, window.end)
    return [to_columnar(batch) for batch in batches]


@dataclass
class FetchedWindows:
    """What a pull's windows brought, in order, up to the first one the network refused."""

    batches: list[ColumnarBatch] = field(default_factory=list)
    windows: list[tuple[DateWindow, int]] = field(default_factory=list)  # (window, records)
    refused: tuple[DateWindow, ConnectorError] | None = None


def fetch_windows(
    network: str,
    windows: Sequence[DateWindow],
    overrides: Mapping[str, Any] | None = None,
    account: Account | None = None,
    on_window: Callable[[DateWindow, int], None] | None = None,
) -> FetchedWindows:
    """Fetch and validate the windows one after another; stop at the first the network
    refuses (its error is returned in `refused`, not raised: the caller records the pull)."""
    fetched = FetchedWindows()
    for window in windows:
        try:
            batches = fetch_window(network, window, overrides, account)
        except ConnectorError as error:
            fetched.refused = (window, error)
            break
        records = sum(b.records_read for b in batches)
        fetched.batches += batches
        fetched.windows.append((window, records))
        if on_window is not None:
            on_window(window, records)
    return fetched


def load_pull(
    plan: PullPlan,
    batches: Sequence[ColumnarBatch],
    *,
    db: str | Path | None,
    run_id: str,
    flow_run_id: str | None = None,
) -> PullSummary:
    """Upsert everything fetched and move the cursor in ONE transaction."""
    now = utc_now()
    with ledger(db) as con:
        start_run(con, _run_info(plan, run_id, flow_run_id))

        def save_cursor(c: Any) -> None:
            # The lines' payout facts (lock, validation, payment, CJ extension) go in the
            # same transaction as the lines they describe.
            load_terms(
                c, batches, network=plan.network, account=plan.account, run_id=run_id, now=now
            )
            set_cursor(
                c,
                network=plan.network,
                account=plan.account,
                stream=STREAM,
                cursor=plan.end,
                run_id=run_id,
            )

        try:
            result = load_batches(
                con,
                batches,
                run_id=run_id,
                network=plan.network,
                account=plan.account,
                mode=connector_for(plan.network).disposition,
                now=now,
                before_commit=save_cursor,
            )
        except BaseException as error:
            finish_run(con, run_id, status="failed", message=f"{type(error).__name__}: {error}")
            raise
        status = "completed_with_rejects" if result.rejected else "completed"
        finish_run(con, run_id, status=status, result=result)
        totals = account_totals(con, network=plan.network, account=plan.account)
        rejects = reject_sample(con, [run_id]) if result.rejected else RejectSample()
    return PullSummary(plan, run_id, status, result, ledger_totals=totals, rejects=rejects)


def record_failed_pull(
    plan: PullPlan,
    error: BaseException,
    *,
    db: str | Path | None,
    run_id: str,
    flow_run_id: str | None = None,
) -> PullSummary:
    """Log a pull whose fetch failed: the ledger and the cursor are left as they were."""
    message = (
        str(error) if isinstance(error, ConnectorError) else f"{type(error).__name__}: {error}"
    )
    with ledger(db) as con:
        start_run(con, _run_info(plan, run_id, flow_run_id))
        finish_run(con, run_id, status="failed", message=message)
    return PullSummary(plan, run_id, "failed", message=message)


def _run_info(plan: PullPlan, run_id: str, flow_run_id: str | None) -> RunInfo:
    return RunInfo(
        run_id=run_id,
        source="api",
        network=plan.network,
        account=plan.account,
        window_start=plan.start.date(),
        window_end=plan.end.date(),
        flow_run_id=flow_run_id,
    )


def pull(
    network: str,
    *,
    db: str | Path | None,
    since: date | None = None,
    until: date | None = None,
    on_window: Callable[[DateWindow, int], None] | None = None,
    account: Account | None = None,
    overrides: Mapping[str, Any] | None = None,
    writing: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> PullSummary:
    """Pull one account in-process (no Prefect): plan, fetch every window, load once.

    `writing` guards each stretch that opens the ledger (a fan-out's one writer at a time),
    so the requests in between hold no lock."""
    with writing():
        plan = plan_pull(
            network, db=db, since=since, until=until, overrides=overrides, account=account
        )
    run_id = new_run_id()
    fetched = fetch_windows(network, plan.windows, overrides, account, on_window)
    if fetched.refused is not None:
        with writing():
            return record_failed_pull(plan, fetched.refused[1], db=db, run_id=run_id)
    with writing():
        summary = load_pull(plan, fetched.batches, db=db, run_id=run_id)
    summary.payments = pull_and_load_payments(
        network,
        settings=load_settings(network, overrides, account),
        ledger_account=plan.account,
        db=db,
        start=plan.start,
        end=plan.end,
        writing=writing,
    )
    return summary
