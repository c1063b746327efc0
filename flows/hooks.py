"""Run bookkeeping for the UI: a one-line failure cause on failed runs, one traceback per
error, and run names."""

from __future__ import annotations

import contextlib
import logging
from collections import deque
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
    cause = failure_cause(state)
    if cause in _logged_causes:
        return  # logged with its traceback already (the filters below): once is enough
    logger = flow_run_logger(flow_run, flow)
    logger.error("%s %s: %s", flow_run.name, (state.name or "failed").lower(), cause)


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


# Marks an exception whose traceback a run's log already holds.
_LOGGED = "_passive_traceback_logged"
# The causes ("RuntimeError: boom") logged with a traceback lately, to say them only once.
_logged_causes: deque[str] = deque(maxlen=64)
_FINISHED = "Finished in state "


def _mark_logged(error: BaseException) -> None:
    # An exception type without a __dict__ cannot be marked: its later lines are kept.
    with contextlib.suppress(AttributeError):
        setattr(error, _LOGGED, True)
    _logged_causes.append(f"{type(error).__name__}: {error}".strip().splitlines()[0])


def _without_logged_cause(record: logging.LogRecord) -> None:
    """Prefect's last line of a run, "Finished in state Failed('... RuntimeError: boom')",
    shortened to "Finished in state Failed (cause above)" when that cause is logged already."""
    text = record.getMessage()
    if not text.startswith(_FINISHED) or not any(c in text for c in _logged_causes):
        return
    state_name = text[len(_FINISHED) :].split("(", 1)[0].strip()
    record.msg, record.args = f"{_FINISHED}{state_name} (cause above)", ()


class _MarkTaskTracebacks(logging.Filter):
    """On `prefect.task_runs`: remember each exception logged with its traceback; shorten
    the task run's last line when it repeats that exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            _mark_logged(error)
        else:
            _without_logged_cause(record)
        return True


class _OneTraceback(logging.Filter):
    """On `prefect.flow_runs`: an error's cause once in a run's log, with one traceback.

    A task that raises is logged by the task run ("Task run failed with exception ...", with
    the traceback), then by the task's and the flow's "Finished in state Failed(...)", by
    the flow run's "Encountered exception during execution ..." (the traceback again) and by
    our failure hook: the cause five times and two tracebacks (issue 12, section 2). The
    first line stays; the flow's copy of it goes; the "Finished" lines name the state only.
    An error raised in the flow itself keeps its one line with the traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            if getattr(error, _LOGGED, False):
                return False
            _mark_logged(error)
            return True
        _without_logged_cause(record)
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
