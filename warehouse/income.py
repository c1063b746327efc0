"""Income per month, network, account and currency, read from the ledger's views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

from warehouse import sql


@dataclass(frozen=True)
class IncomeRow:
    """One month of one network, account and currency (the columns of `income_monthly`)."""

    month: date
    network: str
    account: str
    currency: str
    earned: Decimal
    pending: Decimal
    reversed: Decimal
    net: Decimal
    lines: int


def income_rows(con: duckdb.DuckDBPyConnection) -> list[IncomeRow]:
    """Every month's income per network, account and currency, oldest month first."""
    rows = con.execute(sql.statements("income_rows")[0]).fetchall()
    return [IncomeRow(*row) for row in rows]
