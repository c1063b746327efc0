"""One ledger writer at a time across every Prefect run: the `passive-ledger-writer` limit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext, TaskRunContext
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

WRITER_LIMIT = "passive-ledger-writer"
# Whether this run already holds the slot: a flow that takes it for all its loads lets the
# loads' own `ledger_writer()` pass through instead of queueing behind itself.
_holding: ContextVar[bool] = ContextVar("passive_ledger_writer_held", default=False)
_process_writer = threading.RLock()
# Sub-flow runs of this process are created one after another (one_start_at_a_time).
_start_turn = threading.Lock()
_turn = threading.local()


def ensure_writer_limit(name: str = WRITER_LIMIT) -> None:
    """Create the global concurrency limit with one slot if it does not exist yet.

    An existing limit is left as it is: whoever changed it meant to. Two runs creating it at
    once is harmless (the loser gets a conflict and uses the winner's).
    """
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        with suppress(ObjectAlreadyExists):
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


@contextmanager
def ledger_writer(name: str = WRITER_LIMIT) -> Iterator[None]:
    """Hold the single writer slot while the ledger file is open for writing.

    DuckDB allows one writing process per file; without this, overlapping scheduled runs
    would fight over the file lock instead of queueing. `strict=True` makes a missing limit
    an error rather than a silent no-op. Outside a Prefect run (the in-process CLI) there is
    nothing to coordinate with, so it does nothing; inside one that holds the slot already
    it does nothing either (each take costs a lease through the API, ~0.1 s).
    """
    # Threads of one process (the accounts of a fan-out, flows/accounts_flow.py) queue here
    # first: under sole_writer() no slot is taken, and DuckDB's file lock does not separate
    # two connections of one process. Re-entrant: a writer may open the ledger again inside.
    with _process_writer:
        if _holding.get() or (FlowRunContext.get() is None and TaskRunContext.get() is None):
            yield
            return
        ensure_writer_limit(name)
        with concurrency(name, occupy=1, strict=True):
            token = _holding.set(True)
            try:
                yield
            finally:
                _holding.reset(token)


@contextmanager
def sole_writer() -> Iterator[None]:
    """Run the flows called inside without taking the writer slot.

    Only for a process that is the one client of a Prefect server it started itself (the
    demo's temporary server): no other run can reach that server's limit, so the slot would
    coordinate nothing and each take costs a lease through the API (about 0.1 s, 19 a demo).
    """
    token = _holding.set(True)
    try:
        yield
    finally:
        _holding.reset(token)


def network_limit_name(network: str) -> str:
    """The global concurrency limit bounding how many accounts of a network pull at once."""
    return f"passive-{network}-accounts"


def ensure_network_limit(network: str, limit: int) -> None:
    """Create a network's limit with `limit` slots if it does not exist yet (an existing one is
    left as whoever changed it meant it)."""
    name = network_limit_name(network)
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        with suppress(ObjectAlreadyExists):
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=limit)
            )


@contextmanager
def network_slot(network: str, limit: int) -> Iterator[None]:
    """Hold one of the network's slots across every process of a Prefect server's runs (work
    pool workers on several machines included); outside a Prefect run, or as the sole client
    of a server of its own (sole_writer), nothing to share."""
    if _holding.get() or (FlowRunContext.get() is None and TaskRunContext.get() is None):
        yield
        return
    ensure_network_limit(network, limit)
    with concurrency(network_limit_name(network), occupy=1, strict=True):
        yield


@contextmanager
def one_start_at_a_time() -> Iterator[None]:
    """Let the sub-flow run called inside be created while no other thread of this process
    creates one; the turn passes on once the run is Running (`started`, its on_running hook)
    or has ended, whichever comes first.

    Why: creating a sub-flow run writes its parent task run, and Prefect's server (3.9) does
    that in a deferred SQLite transaction that reads the flow run's labels before inserting.
    Two at once and the second upgrade fails at once with "database is locked" (busy_timeout
    does not apply to a deadlocked upgrade), the API answers 503 and the client waits 2 s,
    then 4 s, before trying again: five accounts fanned out at once lost 4-6 s of a
    10 s pull that way (server log with PREFECT_SERVER_LOG_RETRYABLE_ERRORS=true: every
    503 was POST /task_runs/ or POST /flow_runs/). The pulls themselves still overlap.
    """
    _start_turn.acquire()
    _turn.held = True
    try:
        yield
    finally:
        started()


def started(flow: object = None, flow_run: object = None, state: object = None) -> None:
    """Pass this thread's start turn on, if it holds one (also a flow's on_running hook)."""
    if getattr(_turn, "held", False):
        _turn.held = False
        _start_turn.release()
