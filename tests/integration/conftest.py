"""Integration fixtures: one Prefect test harness per session, fresh ledger files per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real Prefect API server on a temporary SQLite database, shared by the session.

    Starting it costs ~10 s here, so only flow tests request it (Prefect docs, "How to test
    workflows": one session-scoped harness).
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A path for a fresh ledger file on disk."""
    return tmp_path / "ledger.duckdb"
