"""Prefect flow `pull_network`: one fetch task over its API windows, one atomic load."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run, task_run

from connectors.accounts import Account, ConfigError
from connectors.base import DateWindow
from flows import payment_steps, pull_steps
from flows.artifacts import artifact_key, pull_markdown
from flows.concurrency import ledger_writer, started
from flows.hooks import log_failure, name_run
from flows.ledger import Ledger
from flows.pull_steps import resolve_account
from flows.secrets import secret_overrides
from flows.states import completed, failed
from schemas.validation import ColumnarBatch
from warehouse.load import new_run_id

if TYPE_CHECKING:
    from flows.account_steps import FanOutSummary


# The HTTP layer owns request retries (429/5xx with backoff); a task retry would repeat them.
def window_days(window: DateWindow) -> str:
    """The days a window covers, both ends inclusive: 2026-09-01..2026-09-30."""
    last = window.end - timedelta(microseconds=1)  # the window's end is exclusive
    return f"{window.start:%Y-%m-%d}..{last:%Y-%m-%d}"


def _fetch_run_name() -> str:
    # Task run names are read in the UI's run graph: days, not microsecond timestamps.
    parameters = task_run.parameters
    account = parameters.get("account")
    who = f"{parameters['network']} {account.name}" if account else parameters["network"]
    windows = parameters["windows"]
    span = window_days(DateWindow(windows[0].start, windows[-1].end)) if windows else "nothing"
    return f"fetch {who} {span}"


@task(name="fetch-windows", cache_policy=NO_CACHE, task_run_name=_fetch_run_name)
def fetch_windows_task(
    network: str, windows: tuple[DateWindow, ...], account: Account | None = None
) -> pull_steps.FetchedWindows:
    """Fetch and validate the pull's API windows in order; a network's refusal is returned,
    not raised.

    One task for all windows, each logged as it arrives: a task per window (12 a year of
    Awin, ~55 in the demo's five-account fan-out) costs ~11 ms of the client's CPU each (60
    empty task runs in one flow run: 0.65 s) plus their events on the server. A raised error
    would be logged with its traceback by the task run and again by the flow run; the flow
    ends the run in a Failed state whose message is the cause (flows/hooks.py).
    """
    logger = get_run_logger()

    def log_window(window: DateWindow, records: int) -> None:
        logger.info("Fetched %d records of %s for %s.", records, network, window_days(window))

    # Credentials are read here rather than passed in, so they never become task inputs.
    overrides = secret_overrides(network, account)
    return Ledger.fetch_windows(network, windows, overrides, account, log_window)


@task(name="load-pull", cache_policy=NO_CACHE)
def load_pull_task(
    plan: pull_steps.PullPlan, batches: list[ColumnarBatch], db: str | None, run_id: str
) -> pull_steps.PullSummary:
    """Upsert the pulled records and move the cursor atomically (writes DuckDB: never cached)."""
    return Ledger(db, writing=ledger_writer).load_pull(
        plan, batches, run_id=run_id, flow_run_id=flow_run.get_id()
    )


@task(name="publish-pull-summary", cache_policy=NO_CACHE)
def publish_pull_summary_task(summary: pull_steps.PullSummary) -> None:
    """Publish the pull's summary as one markdown artifact: every window, counts, rejects."""
    from flows.summary import summary_link

    plan = summary.plan
    create_markdown_artifact(
        markdown=pull_markdown(summary, link=summary_link()),
        key=artifact_key(plan.network, "pull"),
        description=f"{plan.network} pull {plan.start:%Y-%m-%d}..{plan.end:%Y-%m-%d}",
    )


def _plan(
    network: str, db: str | None, since: date | None, until: date | None, account: Account
) -> pull_steps.PullPlan:
    """Plan the pull with credentials from Secret blocks over the environment's.

    Missing credentials fail here, before any request, naming every setting to provide.
    """
    overrides = secret_overrides(network, account)
    try:
        return Ledger(db, writing=ledger_writer).plan_pull(
            network, since=since, until=until, overrides=overrides, account=account
        )
    except pull_steps.PullInputError as error:
        if "missing" not in str(error):
            raise
        raise pull_steps.PullInputError(
            f"{error}, or store them as Prefect Secret blocks with "
            f"`passive secrets set {account.name}`"
        ) from None


def _run_name() -> str:
    account = flow_run.parameters.get("account")
    network = flow_run.parameters["network"]
    return f"pull {network} {account}" if account and account != network else f"pull {network}"


@flow(
    name="pull-network",
    flow_run_name=_run_name,
    on_failure=[log_failure],
    on_crashed=[log_failure],
    on_running=[started],
)
def pull_network(
    network: str,
    since: date | None = None,
    until: date | None = None,
    db: str | None = None,
    account: str | None = None,
    config: str | None = None,
) -> pull_steps.PullSummary | FanOutSummary | State[Any]:
    """Pull one account of an API network from the saved cursor (minus lookback) or `since`,
    to now or `until`. `account` is its name in passive.toml (`config`, else $PASSIVE_CONFIG,
    else ./passive.toml); without one, the account named after the network.

    With passive.toml and no `account`, every account of the network is pulled, each as its
    own run (the `pull-accounts` flow): so the `<network>-daily` deployments pull them all.
    """
    try:
        if account is None and pull_steps.load_accounts(config).path is not None:
            from flows.accounts_flow import final_state, pull_accounts

            fanned = pull_accounts(network=network, since=since, until=until, db=db, config=config)
            if isinstance(fanned, State):  # a bad passive.toml: that run failed, and so does this
                return failed(str(fanned.message))
            return final_state(fanned)
        chosen = resolve_account(network, account, config)
        plan = _plan(network, db, since, until, chosen)
    except (pull_steps.PullInputError, ConfigError) as error:
        # Missing or malformed settings: no bug, so no traceback; the cause is the message.
        return failed(f"pull {network} failed: {error}")
    who = network if chosen.name == network else f"{network} {chosen.name}"
    name_run(f"pull {who} {window_days(DateWindow(plan.start, plan.end))}")
    run_id = new_run_id()
    fetched = fetch_windows_task(network, plan.windows, chosen)
    windows = [(window_days(window), records) for window, records in fetched.windows]
    if fetched.refused is not None:
        refused_window, refusal = fetched.refused
        summary = Ledger(db, writing=ledger_writer).record_failed_pull(
            plan, refusal, run_id=run_id, flow_run_id=flow_run.get_id()
        )
        summary.window_records = [*windows, (window_days(refused_window), 0)]
        publish_pull_summary_task(summary)
        return failed(f"pull {who} failed: {refusal}; the ledger and the cursor are unchanged")
    batches = fetched.batches
    summary = load_pull_task(plan, batches, db, run_id)
    summary.window_records = windows
    summary.payments = pull_payments_task(plan, db, chosen)
    publish_pull_summary_task(summary)
    rejected = summary.result.rejected if summary.result else 0
    problems = [f"{rejected} records rejected (`passive rejects --run {run_id}`)"]
    return completed(summary, problems if rejected else [])


@task(
    name="pull-payments",
    cache_policy=NO_CACHE,
    task_run_name="payments {plan.network} {plan.account}",
)
def pull_payments_task(
    plan: pull_steps.PullPlan, db: str | None, account: Account | None = None
) -> payment_steps.PaymentsSummary | None:
    """Pull and load the account's payments (invoices, payouts) after its lines."""
    # Credentials are read here rather than passed in, so they never become task inputs.
    return Ledger(db, writing=ledger_writer).pull_payments(
        plan,
        overrides=secret_overrides(plan.network, account),
        flow_run_id=flow_run.get_id(),
        account=account,
    )
