"""Payments pulls, the forecast and reconciliation as plain functions (the CLI and flows call)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from connectors.errors import ConnectorError
from connectors.settings import NetworkSettings
from flows.payments_pull import PAYMENT_SOURCES, pull_payments
from warehouse.connection import ledger
from warehouse.load import new_run_id
from warehouse.payments import (
    PaymentsResult,
    Rows,
    load_payments,
    query,
    set_as_of,
    settled_payments,
)
from warehouse.runs import LoadResult, RunInfo, finish_run, start_run


@dataclass(frozen=True)
class PaymentsSummary:
    """What a payments pull did, or why it failed (the commission pull stands either way)."""

    network: str
    run_id: str
    result: PaymentsResult | None = None
    error: str | None = None

    def line(self) -> str:
        """One line for the terminal and the pull artifact."""
        if self.error is not None:
            return f"payments not pulled: {self.error}"
        r = self.result
        assert r is not None
        return (
            f"payments: {r.payments} read, {r.inserted} new, {r.changed} changed, "
            f"{r.items} items, {r.rejected} rejected"
        )


def has_payments(network: str) -> bool:
    """Whether the network has a payments API this ledger pulls."""
    return network in PAYMENT_SOURCES


def pull_and_load_payments(
    network: str,
    *,
    settings: NetworkSettings,
    ledger_account: str,
    db: str | Path | None,
    start: datetime,
    end: datetime,
    flow_run_id: str | None = None,
    writing: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> PaymentsSummary | None:
    """Pull a network's payments (None if it has none) and load them as one run; a connector
    error is recorded as a failed run and returned, not raised: the lines already loaded stand.
    `settings` are the account's, read and checked by the caller (pull_steps.load_settings);
    `ledger_account` is the account's name in the ledger (PullPlan.account). `writing` guards
    each stretch that opens the ledger (a flow's one-writer limit), so the HTTP requests in
    between hold no lock."""
    if not has_payments(network):
        return None
    name = ledger_account
    run_id = new_run_id()
    run = RunInfo(
        run_id=run_id,
        source="api",
        network=network,
        account=name,
        file_name="payments",
        window_start=start.date(),
        window_end=end.date(),
        flow_run_id=flow_run_id,
    )
    with writing(), ledger(db) as con:
        settled = settled_payments(con, network=network, account=name)
    try:
        pulled = pull_payments(network, settings, start=start, end=end, settled=settled)
    except ConnectorError as error:
        with writing(), ledger(db) as con:
            start_run(con, run)
            finish_run(con, run_id, status="failed", message=f"payments: {error}")
        return PaymentsSummary(network, run_id, error=str(error))
    assert pulled is not None
    with writing(), ledger(db) as con:
        start_run(con, run)
        result = load_payments(
            con,
            pulled.batch,
            network=network,
            account=pulled.account,
            run_id=run_id,
            items_for=pulled.items_for,
            setting=pulled.setting,
        )
        status = "completed_with_rejects" if result.rejected else "completed"
        counts = LoadResult(
            records_read=result.records_read,
            loaded=result.payments,
            rejected=result.rejected,
            inserted=result.inserted,
            changed=result.changed,
            removed=0,
        )
        finish_run(con, run_id, status=status, result=counts, message=_ITEMS.format(result.items))
    return PaymentsSummary(network, run_id, result=result)


_ITEMS = "payments: {} items"
FORECAST_COLUMNS = ("month", "network", "currency", "firm", "likely", "amount", "lines")
UNDATED_COLUMNS = ("network", "currency", "basis", "lines", "amount", "likely")
PAYMENT_COLUMNS = (
    "network", "account", "payment_id", "currency", "amount", "status", "due_on", "paid_on"
)  # fmt: skip
DIFFERENCE_COLUMNS = (
    "network", "account", "currency", "month", "ledger_paid", "payments", "difference"
)  # fmt: skip
OVERDUE_COLUMNS = ("network", "account", "currency", "lines", "amount", "most_days")


def forecast(db: str | Path | None, *, months: int, as_of: date | None = None) -> Rows:
    """Money expected per month (this month and the next ones), network and currency: firm
    (approved lines) and likely (approved plus pending discounted by the reversal rate)."""
    with ledger(db, read_only=True) as con:
        set_as_of(con, as_of)
        return query(con, "forecast_monthly", months=months)


def undated(db: str | Path | None) -> Rows:
    """What the rules cannot date yet (impact.com thresholds, Awin lines not validated...)."""
    with ledger(db, read_only=True) as con:
        return query(con, "forecast_undated")


def payments_report(db: str | Path | None, *, as_of: date | None = None) -> tuple[Rows, Rows, Rows]:
    """Payments received or scheduled, reconciliation differences, and overdue lines summed."""
    with ledger(db, read_only=True) as con:
        set_as_of(con, as_of)
        return (
            query(con, "payments_list"),
            query(con, "reconciliation_differences"),
            query(con, "overdue_summary"),
        )


def money_ahead(con: duckdb.DuckDBPyConnection, *, days: int = 90) -> tuple[Rows, Rows]:
    """For the ledger summary: money expected in the next `days` days, and what is overdue
    (nothing for a ledger a read-only open has not migrated to the payments views yet)."""
    try:
        return query(con, "money_arriving", days=days), query(con, "overdue_summary")
    except duckdb.CatalogException:
        return [], []
