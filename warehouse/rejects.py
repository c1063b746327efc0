"""The rejected records of a run, as artifacts and messages list them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from warehouse import sql

SAMPLE = 50


@dataclass(frozen=True)
class RejectSample:
    """How many records some runs rejected, and the first of them: (locator, reasons)."""

    total: int = 0
    first: list[tuple[str, str]] = field(default_factory=list)


def reject_sample(
    con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], limit: int = SAMPLE
) -> RejectSample:
    """The first `limit` rejects of the runs in the order they were met, and the count."""
    if not run_ids:
        return RejectSample()
    rows = sql.execute(con, "rejects_sample", run_ids=list(run_ids), limit=limit).fetchall()
    return RejectSample(int(rows[0][2]) if rows else 0, [(r[0], r[1]) for r in rows])
