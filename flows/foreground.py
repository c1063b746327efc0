"""How a `passive` command runs Prefect flows while the user waits: no heartbeats, quick exit."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn


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


def exit_now(code: object) -> NoReturn:
    """End a finished command's process now: Prefect's queues sent, output flushed, then
    `os._exit`, without the interpreter's teardown.

    After a tracked run the teardown (Prefect's exit handlers, then freeing the thousands of
    modules and objects Prefect loaded) took 0.3-0.8 s of a `passive ingest` here, for
    nothing the user sees. Only when Prefect was loaded: other commands exit as usual.
    """
    if "prefect" not in sys.modules:
        raise SystemExit(code)
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    # What Prefect's own exit handlers would do: the run's last logs and events reach the API.
    APILogWorker.drain_all(timeout=30)
    EventsWorker.drain_all(timeout=30)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): Python prints it and exits 1
        sys.stderr.write(f"{code}\n")
        status = 1
    logging.shutdown()
    # os._exit runs no atexit handler: the one of ours that matters is a lake's spill folder.
    lake = sys.modules.get("warehouse.lake")
    if lake is not None:
        lake.remove_process_scratch()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
