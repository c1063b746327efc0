"""Tallies of the ledger by month, day, network, account or tracking id, per currency."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import duckdb

from warehouse import sql

TallyBy = Literal["month", "day", "network", "account", "tracking-id"]
# Which day's ECB rate converts a line in a one-currency tally (warehouse/fx.py tally_in).
Basis = Literal["event", "month-end"]
# --by -> (columns the ledger is scanned by, the output columns made from them)
GROUPS: dict[str, tuple[str, str]] = {
    "month": ("event_date", "CAST(date_trunc('month', event_date) AS DATE) AS month"),
    "day": ("event_date", "event_date AS day"),
    "network": ("network", "network"),
    "account": ("network, account", "network, account"),
    "tracking-id": (
        "network, tracking_id",
        "network, coalesce(tracking_id, '(none)') AS tracking_id",
    ),
}
MONEY_COLUMNS = ("sales", "pending", "approved", "paid", "reversed", "net")


@dataclass(frozen=True)
class Tally:
    """Column names and rows of a tally; money stays Decimal."""

    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]


def grouped_query(name: str, by: str) -> str:
    """The statement of warehouse/sql/<name>.sql with its {inner_group}/{outer_group} for `by`."""
    if by not in GROUPS:
        raise ValueError(f"--by must be one of {', '.join(GROUPS)}; got {by!r}")
    inner, outer = GROUPS[by]
    text = sql.statements(name)[0].replace("{inner_group}", inner)
    return text.replace("{outer_group}", outer)


def tally(
    con: duckdb.DuckDBPyConnection,
    by: TallyBy = "month",
    *,
    network: str | None = None,
    account: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Tally:
    """Commission by `by` and currency, with a column per status and the net."""
    with _without_compressed_materialization(con):
        cursor = con.execute(
            grouped_query("tally", by),
            {"network": network, "account": account, "since": since, "until": until},
        )
        columns = tuple(d[0] for d in cursor.description or ())
        fetched = cursor.fetchall()
    rows = [
        tuple(v.quantize(Decimal("0.01")) if isinstance(v, Decimal) else v for v in row)
        for row in fetched
    ]
    return Tally(columns, rows)


@contextmanager
def _without_compressed_materialization(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    # DuckDB's compressed materialization packs the text group keys (currency, status) into
    # integers before the hash aggregate and unpacks them after; on the ledger's dictionary-
    # compressed columns that costs more than it saves: the 10M-line monthly tally's first
    # query 0.33 s -> 0.27 s (bench/, 10 interleaved processes), repeated 0.23 -> 0.16 s.
    # The caller's own list of disabled optimizers is kept and put back as it was.
    row = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
    before = str(row[0]) if row and row[0] else ""
    wanted = ",".join(filter(None, [before, "compressed_materialization"]))
    con.execute(f"SET disabled_optimizers = '{wanted}'")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = '{before}'")


def months_touched(
    con: duckdb.DuckDBPyConnection,
    *,
    network: str,
    account: str | None,
    start: date,
    end: date,
) -> list[tuple[date, str, int, Decimal, Decimal]]:
    """(month, currency, lines, sales, commission) of the non-reversed lines, month by month."""
    rows = sql.execute(
        con, "months_touched", network=network, account=account, start=start, end=end
    ).fetchall()
    return [(r[0], str(r[1]), int(r[2]), Decimal(r[3]), Decimal(r[4])) for r in rows]


def account_totals(
    con: duckdb.DuckDBPyConnection, *, network: str, account: str
) -> list[tuple[str, str, int, str, str]]:
    """(currency, status, lines, sales, commission) of an account over every month."""
    rows = sql.execute(con, "account_totals", network=network, account=account).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows]


def rejects_list(con: duckdb.DuckDBPyConnection, *, run: str | None, limit: int) -> Tally:
    """Rejected records, newest first, of one run or all; `limit` 0 means all."""
    cursor = sql.execute(con, "rejects_list", run=run, limit=max(0, int(limit)))
    columns = tuple(d[0] for d in cursor.description or ())
    return Tally(columns, cursor.fetchall())


def account_last_runs(
    con: duckdb.DuckDBPyConnection,
) -> dict[tuple[str, str], tuple[datetime, str, int]]:
    """(network, account) -> (last run's start, its status, how many runs) from ingest_runs."""
    rows = sql.execute(con, "account_last_runs").fetchall()
    return {(str(r[0]), str(r[1])): (r[2], str(r[3]), int(r[4])) for r in rows}
