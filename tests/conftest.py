"""Shared test set-up: isolate every test run from the user's Prefect profile and ledger."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis times each example (200 ms by default): a wall-clock limit that fails on a busy
# shared machine and proves nothing about the code. Every property test runs without it.
settings.register_profile("passive", deadline=None)
settings.load_profile("passive")

# A developer's PREFECT_API_URL (or .env) must not send test flows to a real server, and the
# harness must not write into ~/.prefect (notes: vstorm-co/agenticos #536).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="passive-prefect-home-")
os.environ["PREFECT_API_URL"] = ""
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
os.environ.pop("PASSIVE_DB", None)

LEDGER_TABLES = ("commissions", "commission_changes", "rejects", "source_files", "ingest_state")


def ledger_snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the ledger's tables, in a stable order: equal snapshots, equal ledgers."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in LEDGER_TABLES}


def assert_ledger_keys_unique(db: Path) -> None:
    """(network, account, line_id) is unique in `commissions` (DESIGN.md's ledger contract)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "SELECT count(*), count(DISTINCT (network, account, line_id)) FROM commissions"
        ).fetchone()
    assert row is not None and row[0] == row[1], f"duplicate ledger keys: {row}"


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, list[tuple[Any, ...]]]]:
    """`snapshot(db)` returns all ledger rows, to compare a ledger before and after."""
    return ledger_snapshot
