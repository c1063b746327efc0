"""ECB rates as plain functions: read or fetch a rates file, validate it, load it into fx_rates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from connectors.ecb import FxSettings, RatesFile, fetch_rates, read_rates_file
from connectors.errors import ConnectorError
from schemas.fx import FxFixing, FxFixingError, validate_fixing
from warehouse.connection import ledger
from warehouse.fx import FxLoadResult, latest_fixing_day, load_fixings
from warehouse.load import new_run_id

DEFAULT_BASE_CURRENCY = "EUR"
# eurofxref-hist-90d.xml holds about 64 working days: a ledger whose newest fixing is older
# than this would keep a gap, so it takes the whole history again.
RECENT_FILE_REACH = timedelta(days=80)


class FxInputError(ValueError):
    """A rates file or setting the user must fix (nothing was loaded): exit code 2."""


def base_currency(value: str | None = None) -> str:
    """`--currency`, else `$PASSIVE_BASE_CURRENCY`, else EUR; a three-letter ISO code."""
    code = (value or os.environ.get("PASSIVE_BASE_CURRENCY") or DEFAULT_BASE_CURRENCY).strip()
    if len(code) != 3 or not code.isalpha():
        origin = "--currency" if value else "PASSIVE_BASE_CURRENCY"
        raise FxInputError(
            f"{origin} must be a three-letter currency code such as EUR; got {code!r}"
        )
    return code.upper()


def validated(rates: RatesFile) -> Iterator[tuple[str, FxFixing]]:
    """Each fixing of a rates file validated, with its locator; the first bad one is an error."""
    try:
        for where, raw in rates.fixings():
            yield where, validate_fixing(raw, where=where)
    except (ConnectorError, FxFixingError) as error:
        raise FxInputError(str(error)) from None


def load_rates(
    rates: RatesFile,
    *,
    db: str | os.PathLike[str] | None = None,
    origin: Literal["file", "api"] = "file",
    run_id: str | None = None,
    flow_run_id: str | None = None,
) -> FxLoadResult:
    """Validate every fixing of `rates`, then upsert them into the ledger in one transaction."""
    fixings = list(validated(rates))
    if not fixings:
        raise FxInputError(f"{rates.name}: no rates in it (every cell empty or N/A)")
    with ledger(db) as con:
        return load_fixings(
            con,
            fixings,
            source=rates.name,
            run_id=run_id or new_run_id(),
            origin=origin,
            content=rates.content,
            flow_run_id=flow_run_id,
        )


def load_rates_path(path: Path, *, db: str | os.PathLike[str] | None = None) -> FxLoadResult:
    """`passive fx load PATH`: a downloaded zip, CSV or XML into the ledger."""
    if not path.is_file():
        raise FxInputError(f"{path}: no such file")
    try:
        rates = read_rates_file(path)
    except ConnectorError as error:
        raise FxInputError(str(error)) from None
    return load_rates(rates, db=db, origin="file")


def ecb_today() -> date:
    """Today in Frankfurt, where the fixings are dated."""
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


def update_plan(
    db: str | os.PathLike[str] | None, *, today: date | None = None
) -> Literal["history", "recent"]:
    """The whole history the first time (or after a long gap), else the last 90 days."""
    today = today or ecb_today()
    with ledger(db) as con:
        newest = latest_fixing_day(con)
    if newest is None or today - newest > RECENT_FILE_REACH:
        return "history"
    return "recent"


def fetch(which: Literal["history", "recent"], settings: FxSettings | None = None) -> RatesFile:
    """Download one of the ECB's files (settings: PASSIVE_FX_BASE_URL and friends)."""
    try:
        return fetch_rates(which, settings or FxSettings())
    except ValueError as error:  # pydantic-settings: a malformed PASSIVE_FX_* value
        raise FxInputError(f"ECB settings: {error}") from None


def update(
    db: str | os.PathLike[str] | None = None,
    *,
    full: bool = False,
    today: date | None = None,
    settings: FxSettings | None = None,
) -> FxLoadResult:
    """`passive fx update` in-process: plan, fetch the ECB file, load it."""
    which = "history" if full else update_plan(db, today=today)
    return load_rates(fetch(which, settings), db=db, origin="api")
