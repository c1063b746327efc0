"""Prefect flow `fx_update`: the ECB's reference rates into the ledger (deployment fx-daily)."""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from connectors.ecb import RatesFile
from flows import fx_steps
from flows.concurrency import ledger_writer
from flows.hooks import log_failure
from warehouse.fx import FxLoadResult
from warehouse.load import new_run_id


# The HTTP layer owns request retries (5xx, timeouts); a task retry would repeat them.
@task(name="fetch-ecb-rates", cache_policy=NO_CACHE, task_run_name="fetch ECB {which}")
def fetch_rates_task(which: Literal["history", "recent"]) -> RatesFile:
    """Download the ECB's history zip or its 90-day XML."""
    rates = fx_steps.fetch(which)
    get_run_logger().info("%s: %d bytes", rates.name, len(rates.content))
    return rates


@task(name="load-ecb-rates", cache_policy=NO_CACHE)
def load_rates_task(rates: RatesFile, db: str | None, run_id: str) -> FxLoadResult:
    """Validate the fixings and upsert them into fx_rates (writes DuckDB: never cached)."""
    with ledger_writer():
        return fx_steps.load_rates(
            rates, db=db, origin="api", run_id=run_id, flow_run_id=flow_run.get_id()
        )


@flow(
    name="fx-update",
    flow_run_name="fx update",
    on_failure=[log_failure],
    on_crashed=[log_failure],
)
def fx_update(db: str | None = None, full: bool = False) -> FxLoadResult:
    """ECB rates into the ledger: the whole history the first time (or with `full`), else
    the last 90 days. Re-running it changes nothing; a re-published fixing is recorded."""
    if full:
        which: Literal["history", "recent"] = "history"
    else:
        with ledger_writer():
            which = fx_steps.update_plan(db)
    result = load_rates_task(fetch_rates_task(which), db, new_run_id())
    get_run_logger().info(
        "%d fixings %s to %s: %d new, %d re-published with another value",
        result.read,
        result.first_day,
        result.last_day,
        result.inserted,
        result.changed,
    )
    return result
