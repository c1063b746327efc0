"""Integration fixtures: one Prefect test harness per session, fresh ledger files per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sandbox.server import SandboxHandle

API_NETWORKS = ("impact", "awin", "cj")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real Prefect API server on a temporary SQLite database, shared by the session.

    Starting it costs ~10 s here (minutes when the machine is busy), so only flow tests
    request it (Prefect docs, "How to test workflows": one session-scoped harness).
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=600):
        yield


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A path for a fresh ledger file on disk."""
    return tmp_path / "ledger.duckdb"


@pytest.fixture(scope="module")
def amazon_sandbox_server() -> Iterator[SandboxHandle]:
    """The network sandbox, for the Creators API tests of one module."""
    from sandbox.server import run_sandbox

    with run_sandbox(3) as handle:
        yield handle


@pytest.fixture
def amazon_sandbox(
    amazon_sandbox_server: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> SandboxHandle:
    """The sandbox reset, with PASSIVE_AMAZON_* (and the others) pointing at it."""
    amazon_sandbox_server.reset()
    for key, value in amazon_sandbox_server.env().items():
        monkeypatch.setenv(key, value)
    # The sandbox has no quota; the one-request-a-second pace is tested with a fake clock.
    monkeypatch.setenv("PASSIVE_AMAZON_RATE_LIMIT_REQUESTS", "100000")
    return amazon_sandbox_server


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxHandle]:
    """The network sandbox on a free loopback port, shared by a test module."""
    from sandbox.server import run_sandbox

    with run_sandbox(11, cj_page_size=400) as handle:
        yield handle


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> SandboxHandle:
    """The sandbox, reset, with every PASSIVE_* setting pointing at it."""
    sandbox_server.reset()
    for key, value in sandbox_server.env().items():
        monkeypatch.setenv(key, value)
    # The sandbox enforces no quota; the client-side limiter is unit-tested with a fake clock.
    for network in API_NETWORKS:
        monkeypatch.setenv(f"PASSIVE_{network.upper()}_RATE_LIMIT_REQUESTS", "100000")
    return sandbox_server
