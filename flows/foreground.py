"""Settings for flow runs a `passive` command runs in its own process while the user waits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def foreground_runs() -> Iterator[None]:
    """Run the flows called inside without Prefect's flow-run heartbeat thread.

    Prefect (3.9) starts, for every flow run, a heartbeat thread (every 180 s) that sleeps in
    one-second steps, and the run's end waits for it: about one second added to every flow
    run however small (bench/prefect_phases.py: an empty flow run 1.17 s with it, 0.21 s
    without). Heartbeats only feed zombie-run automations; a run the user watches in the
    terminal has none to feed. `None` is the setting's "off", reachable only from code: the
    environment variable accepts integers of 30 and up.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
