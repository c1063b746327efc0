"""Prefect flow `pull-accounts`: one sub-flow run per account (named after it), at most a few
accounts of a network at once, every account's outcome in one artifact."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run

from connectors.accounts import Account
from flows.account_steps import (
    AccountOutcome,
    FanOutSummary,
    NetworkSlots,
    outcome_of,
    parallel_limit,
    select_accounts,
)
from flows.artifacts import artifact_key, markdown_table
from flows.concurrency import ensure_network_limit, network_slot, one_start_at_a_time
from flows.hooks import failure_cause, log_failure
from flows.pull_steps import PullInputError
from flows.states import completed, failed

# Threads of this process that pull accounts share these semaphores (the task runner's pool).
SLOTS = NetworkSlots()


def _account_run_name() -> str:
    from prefect.runtime import task_run

    account: Account = task_run.parameters["account"]
    return f"account {account.network} {account.name}"


@task(name="pull-account", cache_policy=NO_CACHE, task_run_name=_account_run_name)
def pull_account_task(
    account: Account,
    since: date | None,
    until: date | None,
    db: str | None,
    config: str | None,
) -> AccountOutcome:
    """Run the account's own pull flow as a sub-flow; its failure is its outcome, not ours."""
    from flows.amazon_flow import pull_amazon
    from flows.pull import pull_network

    with (
        SLOTS.hold(account.network),
        network_slot(account.network, parallel_limit(account.network)),
        one_start_at_a_time(),
    ):
        state: State[Any]
        if account.network == "amazon":
            state = pull_amazon(
                account=account.name,
                marketplace=account.marketplace or "US",
                since=since,
                until=until,
                db=db,
                config=config,
                return_state=True,
            )
        else:
            state = pull_network(
                account.network,
                since=since,
                until=until,
                db=db,
                account=account.name,
                config=config,
                return_state=True,
            )
    if state.is_completed():
        return outcome_of(account, state.result())
    return AccountOutcome(
        account.name, account.network, "failed", message=failure_cause(state), exit_code=2
    )


def fan_out_markdown(summary: FanOutSummary) -> str:
    """The artifact: one row per account with its outcome and counts."""
    rows = [
        [
            o.network,
            o.account,
            o.status,
            str(o.records),
            str(o.new),
            str(o.changed),
            str(o.rejected),
            o.message.replace("|", "/"),
        ]
        for o in summary.outcomes
    ]
    return "\n\n".join(
        [
            f"# {summary.headline}",
            markdown_table(
                ["network", "account", "outcome", "records", "new", "changed", "rejected", "note"],
                rows,
            ),
        ]
    )


def _fan_out_name() -> str:
    parameters = flow_run.parameters
    if parameters.get("every"):
        return "pull every account"
    if parameters.get("account"):
        return f"pull account {parameters['account']}"
    return f"pull {parameters.get('network')} accounts"


@flow(
    name="pull-accounts",
    flow_run_name=_fan_out_name,
    on_failure=[log_failure],
    on_crashed=[log_failure],
)
def pull_accounts(
    network: str | None = None,
    account: str | None = None,
    every: bool = False,
    since: date | None = None,
    until: date | None = None,
    db: str | None = None,
    config: str | None = None,
) -> FanOutSummary | State[Any]:
    """Pull every account of `network` (or `account` alone, or `every` account of every
    network) of passive.toml, each as its own `pull-network` / `pull-amazon` sub-flow run.

    One failing account never stops the others; the run ends "Completed with rejects" naming
    the accounts that failed or rejected records, and its artifact lists every outcome.
    """
    try:
        accounts = select_accounts(network, account, every=every, config=config)
    except PullInputError as error:
        return failed(f"pull failed: {error}")
    for name in sorted({a.network for a in accounts}):
        # Made here, once, before the tasks race to make it.
        ensure_network_limit(name, parallel_limit(name))
    futures = [pull_account_task.submit(a, since, until, db, config) for a in accounts]
    summary = FanOutSummary([future.result() for future in futures])
    create_markdown_artifact(
        markdown=fan_out_markdown(summary),
        key=artifact_key("accounts", "pull"),
        description=summary.headline,
    )
    return final_state(summary)


def final_state(summary: FanOutSummary) -> FanOutSummary | State[Any]:
    """Completed, or "Completed with rejects" naming each account that failed or rejected
    records (the run did its work: the other accounts are in)."""
    problems = [
        f"{o.network} {o.account} failed" if o.status == "failed" else
        f"{o.network} {o.account}: {o.rejected} records rejected"
        for o in summary.outcomes
        if o.exit_code
    ]  # fmt: skip
    return completed(summary, problems)
