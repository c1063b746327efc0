"""Run bookkeeping for the UI: a one-line failure cause on failed runs, one traceback per
error, and run names."""

from __future__ import annotations

import contextlib
import logging
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


# Marks an exception whose traceback a task run's log already holds.
_LOGGED = "_passive_traceback_logged"


class _MarkTaskTracebacks(logging.Filter):
    """On `prefect.task_runs`: remember each exception logged with its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            # An exception type without a __dict__ cannot be marked: it keeps both copies.
            with contextlib.suppress(AttributeError):
                setattr(error, _LOGGED, True)
        return True


class _OneTraceback(logging.Filter):
    """On `prefect.flow_runs`: the line without the traceback when a task's log has it.

    A task that raises is logged by the task run ("Task run failed with exception ...") and,
    as the exception reaches the flow, by the flow run ("Encountered exception during
    execution ..."), each with the whole traceback: two copies of one error in the run's
    logs and on the terminal. The flow run's line stays, naming the error and where the
    traceback is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and getattr(error, _LOGGED, False):
            record.exc_info = None
            record.exc_text = None
            record.msg = f"{record.msg} (traceback above, in the task run's log)"
        return True


def _install_traceback_filters() -> None:
    """Once per process: every module with a flow imports this one (its failure hook)."""
    task_runs, flow_runs = (
        logging.getLogger("prefect.task_runs"),
        logging.getLogger("prefect.flow_runs"),
    )
    if not any(isinstance(f, _MarkTaskTracebacks) for f in task_runs.filters):
        task_runs.addFilter(_MarkTaskTracebacks())
    if not any(isinstance(f, _OneTraceback) for f in flow_runs.filters):
        flow_runs.addFilter(_OneTraceback())


_install_traceback_filters()
