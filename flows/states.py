"""Final states a user can tell apart in the runs list: failed for a known cause, completed
with rejects."""

from __future__ import annotations

from typing import Any, TypeVar

from prefect.client.schemas.objects import State

T = TypeVar("T")

# The name of the Completed state of a run that loaded but rejected lines or quarantined a
# file. Prefect lets a state of type COMPLETED carry its own name; the runs list and the run
# header show it, and automations can match it (`prefect.flow-run.Completed with rejects`).
WITH_REJECTS = "Completed with rejects"


def failed(message: str) -> State[Any]:
    """The final state of a flow run that failed for a known cause, told in `message`.

    A flow returns it instead of raising: the cause is then the state's message, shown in
    the run header, and no traceback is logged for a failure that is no bug.
    """
    from prefect.states import Failed

    return Failed(message=message)


def completed(value: T, problems: list[str]) -> T | State[Any]:
    """`value` as the run's result; with problems, in a `Completed with rejects` state whose
    message lists them (the flow's caller still gets `value` back)."""
    if not problems:
        return value
    from prefect.states import Completed

    return Completed(name=WITH_REJECTS, message="; ".join(problems), data=value)
