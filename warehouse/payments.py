"""Loading payments, their items, payout settings and the lines' payout terms, atomically."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from schemas.payments import PaymentBatch, PaymentItemRow, PaymentRow, PayoutSettingRow
from schemas.terms import TERMS_SCHEMA
from schemas.validation import ColumnarBatch, ValidatedBatch
from warehouse import sql
from warehouse.load import REJECTS_SCHEMA
from warehouse.publish import transaction
from warehouse.runs import utc_now

_MONEY = pa.decimal128(18, 4)
PAYMENTS_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("account", pa.string()),
        ("payment_id", pa.string()),
        ("currency", pa.string()),
        ("amount", _MONEY),
        ("status", pa.string()),
        ("created_on", pa.date32()),
        ("due_on", pa.date32()),
        ("paid_on", pa.date32()),
        ("seq", pa.int64()),
    ]
)
ITEMS_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("account", pa.string()),
        ("payment_id", pa.string()),
        ("item", pa.int32()),
        ("program", pa.string()),
        ("event_month", pa.date32()),
        ("lines", pa.int64()),
        ("amount", _MONEY),
        ("description", pa.string()),
        ("status", pa.string()),
        ("due_on", pa.date32()),
        ("paid_on", pa.date32()),
    ]
)
_KEYS_SCHEMA = pa.schema(
    [("network", pa.string()), ("account", pa.string()), ("payment_id", pa.string())]
)


@dataclass(frozen=True)
class PaymentsResult:
    """What one payments load did."""

    records_read: int
    payments: int
    items: int
    rejected: int
    inserted: int
    changed: int
    items_replaced: int


def load_terms(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[ValidatedBatch | ColumnarBatch],
    *,
    network: str,
    account: str,
    run_id: str,
    now: datetime,
) -> None:
    """Upsert the batches' payout terms into `commission_terms` (inside the caller's
    transaction, after the lines were loaded, so only lines in the ledger get terms)."""
    tables = []
    for seq, batch in enumerate(batches):
        if batch.terms is not None and batch.terms.num_rows:
            order = pa.array([seq] * batch.terms.num_rows, pa.int64())
            tables.append(batch.terms.append_column("seq", order))
    if not tables:
        return
    terms = pa.concat_tables(tables)
    # Read order across pages: the page (seq), then the record within it (source_line).
    con.register("_terms_arrow", terms)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _terms_in AS SELECT * EXCLUDE (seq, source_line),"
            " row_number() OVER (ORDER BY seq, source_line) AS seq FROM _terms_arrow"
        )
    finally:
        con.unregister("_terms_arrow")
    sql.execute(con, "terms_upsert", network=network, account=account, run_id=run_id, now=now)
    con.execute("DROP TABLE _terms_in")


assert TERMS_SCHEMA.names[-1] == "source_line", "load_terms orders by the record's index"


def _payments_table(payments: Sequence[PaymentRow]) -> pa.Table:
    rows = [p.model_dump() | {"seq": seq} for seq, p in enumerate(payments)]
    return pa.Table.from_pylist(rows, schema=PAYMENTS_SCHEMA)


def _items_table(items: Sequence[PaymentItemRow]) -> pa.Table:
    return pa.Table.from_pylist([i.model_dump() for i in items], schema=ITEMS_SCHEMA)


def load_payments(
    con: duckdb.DuckDBPyConnection,
    batch: PaymentBatch,
    *,
    network: str,
    account: str,
    run_id: str,
    items_for: Iterable[str] = (),
    setting: PayoutSettingRow | None = None,
    now: datetime | None = None,
) -> PaymentsResult:
    """Upsert payments (recording changes), replace the items of the payments in `items_for`,
    store the payout setting and the rejects: ONE transaction, all or nothing."""
    now = now or utc_now()
    con.register("_pay_arrow", _payments_table(batch.payments))
    con.register("_items_arrow", _items_table(batch.items))
    keys = sorted(set(items_for))
    con.register(
        "_items_for_arrow",
        pa.Table.from_pydict(
            {
                "network": [network] * len(keys),
                "account": [account] * len(keys),
                "payment_id": keys,
            },
            schema=_KEYS_SCHEMA,
        ),
    )
    con.register(
        "_rejects_arrow",
        pa.Table.from_pydict(
            {
                "run_id": [run_id] * len(batch.rejects),
                "network": [network] * len(batch.rejects),
                "account": [account] * len(batch.rejects),
                "locator": [r.locator for r in batch.rejects],
                "raw": [r.raw for r in batch.rejects],
                "reasons": [list(r.reasons) for r in batch.rejects],
                "rejected_at": [now] * len(batch.rejects),
            },
            schema=REJECTS_SCHEMA,
        ),
    )
    try:
        outcome: list[int] = []

        def step() -> None:
            outcome.clear()
            con.execute("CREATE OR REPLACE TEMP TABLE _pay_in AS FROM _pay_arrow")
            con.execute("CREATE OR REPLACE TEMP TABLE _items_in AS FROM _items_arrow")
            con.execute("CREATE OR REPLACE TEMP TABLE _items_for AS FROM _items_for_arrow")
            con.execute("INSERT INTO rejects SELECT * FROM _rejects_arrow")
            sql.execute(con, "payments_upsert", run_id=run_id, now=now)
            changed = _count(con, "_pay_moved")
            inserted = _count(con, "_pay_fresh")
            row = sql.execute(con, "payment_items_replace").fetchone()
            replaced = int(row[0]) if row else 0
            if setting is not None:
                save_setting(con, setting, source="api", run_id=run_id, now=now)
            for name in _SCRATCH:
                con.execute(f"DROP TABLE IF EXISTS {name}")
            outcome.extend((changed, inserted, replaced))

        transaction(con, step, what=f"recording payments of run {run_id}", exclusive=True)
        changed, inserted, replaced = outcome
    finally:
        for name in ("_pay_arrow", "_items_arrow", "_items_for_arrow", "_rejects_arrow"):
            con.unregister(name)
    return PaymentsResult(
        records_read=batch.records_read,
        payments=len(batch.payments),
        items=len(batch.items),
        rejected=len(batch.rejects),
        inserted=inserted,
        changed=changed,
        items_replaced=replaced,
    )


_SCRATCH = (
    "_pay_in",
    "_pay_latest",
    "_pay_moved",
    "_pay_fresh",
    "_items_in",
    "_items_for",
    "_items_old",
    "_items_changed",
)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def save_setting(
    con: duckdb.DuckDBPyConnection,
    setting: PayoutSettingRow,
    *,
    source: str,
    run_id: str | None,
    now: datetime | None = None,
) -> None:
    """Store an account's payout setting (one per network, account and source)."""
    sql.execute(
        con,
        "payout_setting_upsert",
        network=setting.network,
        account=setting.account,
        scheduling_type=setting.scheduling_type,
        payment_day=setting.payment_day,
        threshold=setting.threshold,
        currency=setting.currency,
        source=source,
        run_id=run_id,
        now=now or utc_now(),
    )


def set_threshold(
    con: duckdb.DuckDBPyConnection,
    *,
    network: str,
    account: str,
    threshold: Decimal,
    currency: str | None = None,
) -> None:
    """Set an account's payment threshold by hand (e.g. an Amazon account's, when it is not
    its marketplace's default): the forecast then rolls balances below it over."""
    setting = PayoutSettingRow(
        network=network,
        account=account,
        scheduling_type="BALANCE_THRESHOLD",
        threshold=threshold,
        currency=currency,
    )
    transaction(
        con,
        lambda: save_setting(con, setting, source="config", run_id=None),
        what=f"setting the payment threshold of {network}/{account}",
        exclusive=True,
    )


Rows = list[tuple[Any, ...]]


def set_as_of(con: duckdb.DuckDBPyConnection, as_of: date | None) -> None:
    """Make the forecast views count from `as_of` instead of today (payout_lines.sql)."""
    if as_of is not None:
        con.execute(f"SET VARIABLE passive_as_of = DATE '{as_of.isoformat()}'")


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> Rows:
    """The rows of a one-statement SQL file of warehouse/sql."""
    return sql.execute(con, name, **params).fetchall()


def settled_payments(con: duckdb.DuckDBPyConnection, *, network: str, account: str) -> set[str]:
    """Paid payments whose items the ledger already holds."""
    return {str(r[0]) for r in query(con, "settled_payments", network=network, account=account)}
