"""ECB fixings into fx_rates: idempotent loads, re-published values recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from schemas.fx import FxFixing, FxFixingError
from warehouse import sql
from warehouse.publish import transaction
from warehouse.runs import LoadResult, RunInfo, finish_run, start_run, utc_now
from warehouse.tally import Tally, grouped_query

FX_NETWORK = "ecb"
PER_EUR_TYPE = pa.decimal128(18, 6)


@dataclass(frozen=True)
class FxLoadResult:
    """What one rates load did: fixings read, new, changed (re-published) and unchanged."""

    run_id: str
    source: str
    read: int
    inserted: int
    changed: int
    first_day: date | None
    last_day: date | None

    @property
    def unchanged(self) -> int:
        """Fixings the ledger already held with the same value."""
        return self.read - self.inserted - self.changed


def _batch(fixings: Iterable[tuple[str, FxFixing]]) -> pa.Table:
    """The fixings as an Arrow table, one row per (day, currency); a file that gives one
    fixing two values is refused (which one the ECB meant cannot be known)."""
    seen: dict[tuple[date, str], tuple[str, FxFixing]] = {}
    for where, fixing in fixings:
        key = (fixing.day, fixing.currency)
        before = seen.get(key)
        if before is not None and before[1].per_eur != fixing.per_eur:
            raise FxFixingError(
                f"{where}: {fixing.currency} on {fixing.day} is {fixing.per_eur}, but "
                f"{before[0]} gave {before[1].per_eur}; one fixing cannot have two values"
            )
        seen[key] = (where, fixing)
    rows = [f for _, f in seen.values()]
    return pa.table(
        {
            "day": pa.array([f.day for f in rows], pa.date32()),
            "currency": pa.array([f.currency for f in rows], pa.string()),
            "per_eur": pa.array([f.per_eur for f in rows], PER_EUR_TYPE),
        }
    )


def load_fixings(
    con: duckdb.DuckDBPyConnection,
    fixings: Iterable[tuple[str, FxFixing]],
    *,
    source: str,
    run_id: str,
    origin: str = "file",
    content: bytes | None = None,
    flow_run_id: str | None = None,
) -> FxLoadResult:
    """Upsert validated fixings in one transaction and log the run in ingest_runs.

    `fixings` are (locator, fixing) pairs; `origin` is 'file' (`fx load`) or 'api' (`fx update`).
    """
    batch = _batch(fixings)
    run = RunInfo(
        run_id=run_id,
        source=origin,
        network=FX_NETWORK,
        file_name=source,
        content_hash=hashlib.sha256(content).hexdigest() if content is not None else None,
        flow_run_id=flow_run_id,
    )
    start_run(con, run)
    con.register("fx_batch", batch)
    try:
        found: list[tuple[int, int]] = []

        def step() -> None:
            found.clear()
            sql.execute(con, "fx_upsert", run_id=run_id, source=source, now=utc_now())
            row = sql.execute(con, "fx_counts").fetchone()
            assert row is not None
            found.append((int(row[0]), int(row[1])))

        try:
            transaction(con, step, what=f"loading ECB rates, run {run_id}", exclusive=True)
        except BaseException as error:
            finish_run(con, run_id, status="failed", message=str(error).splitlines()[0])
            raise
        counts = found[0]
    finally:
        con.unregister("fx_batch")
    assert counts is not None
    inserted, changed = int(counts[0]), int(counts[1])
    days = batch.column("day").to_pylist()
    result = FxLoadResult(
        run_id=run_id,
        source=source,
        read=batch.num_rows,
        inserted=inserted,
        changed=changed,
        first_day=min(days) if days else None,
        last_day=max(days) if days else None,
    )
    finish_run(
        con,
        run_id,
        status="completed",
        result=_as_load_result(result),
        message=(
            f"{result.read} fixings {result.first_day} to {result.last_day}: {inserted} new, "
            f"{changed} re-published with another value"
        ),
    )
    return result


def _as_load_result(result: FxLoadResult) -> LoadResult:
    return LoadResult(
        records_read=result.read,
        loaded=result.read,
        rejected=0,
        inserted=result.inserted,
        changed=result.changed,
        removed=0,
    )


def has_fx(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the ledger has fx_rates and the *_in macros: a ledger made before them gets
    them from its next writer (migrations run on write), not from a read-only open."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'commissions_in'"
    ).fetchone()
    return bool(row and row[0])


def latest_fixing_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest day fx_rates holds a fixing for (None when it holds none, or no fx_rates)."""
    if not has_fx(con):
        return None
    row = con.execute("SELECT max(day) FROM fx_rates").fetchone()
    return row[0] if row else None


def tally_in(
    con: duckdb.DuckDBPyConnection,
    by: str,
    base: str,
    *,
    basis: str = "event",
    network: str | None = None,
    account: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Tally:
    """The tally by `by` with every currency converted into `base` (see commissions_in)."""
    cursor = con.execute(
        grouped_query("tally_in", by),
        {
            "base": base,
            "basis": basis,
            "network": network,
            "account": account,
            "since": since,
            "until": until,
        },
    )
    columns = tuple(d[0] for d in cursor.description or ())
    # Not rounded to cents as the native tally is: these are sums of lines converted to 4
    # decimal places, and shown as they are so they can be checked to the 4th.
    return Tally(columns, cursor.fetchall())


def fixings(
    con: duckdb.DuckDBPyConnection,
    *,
    currencies: list[str] | None = None,
    day: date | None = None,
    days: int = 1,
) -> Tally:
    """The fixings of the last `days` fixing days up to `day` (default: the newest)."""
    cursor = con.execute(
        "WITH shown AS ("
        " SELECT DISTINCT day FROM fx_rates WHERE ($day IS NULL OR day <= $day)"
        " ORDER BY day DESC LIMIT $days)"
        " SELECT r.day, r.currency, r.per_eur, r.source FROM fx_rates AS r"
        " JOIN shown USING (day)"
        " WHERE ($all OR list_contains($currencies, r.currency))"
        " ORDER BY r.day DESC, r.currency",
        {
            "day": day,
            "days": days,
            "all": not currencies,
            "currencies": [c.upper() for c in currencies or []],
        },
    )
    columns = tuple(d[0] for d in cursor.description or ())
    return Tally(columns, cursor.fetchall())
