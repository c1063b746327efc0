"""Run bookkeeping for the UI: a one-line failure cause on failed runs, and run names."""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import FlowRun, State
from prefect.logging.loggers import flow_run_logger


def failure_cause(state: State[Any]) -> str:
    """The first line of what made the run fail: the exception if there is one, else the message."""
    cause: str | None = None
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # a result that cannot be read back must not hide the message
        result = None
    if isinstance(result, BaseException):
        cause = f"{type(result).__name__}: {result}"
    text = cause or state.message or state.name or "unknown cause"
    return text.strip().splitlines()[0] if text.strip() else "unknown cause"


def _raised(state: State[Any]) -> bool:
    """Whether the run failed by an exception (rather than by returning `failed(...)`)."""
    try:
        return isinstance(state.result(raise_on_failure=False), BaseException)
    except Exception:
        return False


def log_failure(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
    """on_failure / on_crashed hook: one line naming the run and the cause.

    A run ended by `flows.states.failed(...)` is skipped: its cause is its state message,
    which Prefect logs as "Finished in state Failed('...')"; saying it twice helps nobody.
    """
    if state.is_failed() and not _raised(state):
        return
    logger = flow_run_logger(flow_run, flow)
    logger.error("%s %s: %s", flow_run.name, (state.name or "failed").lower(), failure_cause(state))


def name_run(name: str) -> None:
    """Rename the current flow run once its window is known (the UI lists runs by name).

    `flow_run_name` templates only see parameters; a pull's window comes from the saved
    cursor, so the name is set after planning. Outside a flow run this does nothing.
    """
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(context.flow_run.id, name=name)
