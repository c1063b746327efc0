"""`python -m bench.prefect_phases`: where the Prefect path's seconds go, phase by phase.

Each phase is timed alone against a local server so that the demo's and a tracked ingest's
figures in `bench prefect` can be explained: imports, server start (new and existing data
folder), an empty flow run, an empty task run, the ledger-writer slot, an artifact and a run
rename. Medians of several repeats; the machine is shared, so read them as sizes, not truths.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.harness import OUT

_IMPORTS = """
import time
t0 = time.perf_counter()
import prefect.flows
t1 = time.perf_counter()
import flows.ingest, flows.pull, flows.fx, flows.amazon_flow
t2 = time.perf_counter()
import prefect.server.api.server
t3 = time.perf_counter()
import json
print(json.dumps({"prefect": t1 - t0, "passive flows": t2 - t1,
                  "prefect server (ephemeral start)": t3 - t2}))
"""

_RUNS = """
import statistics, sys, time
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from flows.concurrency import ensure_writer_limit, ledger_writer
from flows.hooks import name_run

REPEATS = int(sys.argv[1])
PHASES = sys.argv[2].split(",")

@task(cache_policy=NO_CACHE)
def empty_task() -> None:
    pass

@task(cache_policy=NO_CACHE)
def writer_task() -> None:
    with ledger_writer():
        pass

@flow
def probe(phase: str, tasks: int) -> float:
    started = time.perf_counter()
    for _ in range(tasks):
        if phase == "task":
            empty_task()
        elif phase == "writer":
            with ledger_writer():
                pass
        elif phase == "limit-check":
            ensure_writer_limit()
        elif phase == "artifact":
            create_markdown_artifact(markdown="# x", key="bench-phase")
        elif phase == "rename":
            name_run("bench phase")
    return (time.perf_counter() - started) / max(tasks, 1)

def flow_seconds(heartbeat: bool) -> float:
    started = time.perf_counter()
    if heartbeat:
        probe("none", 0)
    else:
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            probe("none", 0)
    return time.perf_counter() - started

probe("none", 0)  # warm the client and register the flow
out = {}
for phase in PHASES:
    if phase.startswith("flow"):
        out[phase] = statistics.median(flow_seconds(phase == "flow") for _ in range(REPEATS))
    else:
        out[phase] = statistics.median(probe(phase, 5) for _ in range(REPEATS))
import json
print(json.dumps(out))
"""

PHASE_NAMES = {
    "flow": "empty flow run (heartbeat thread on, Prefect's default)",
    "flow-no-heartbeat": "empty flow run, heartbeats off",
    "task": "empty task run",
    "writer": "ledger-writer slot (check limit + lease acquire/release)",
    "limit-check": "  of which: read the limit by name",
    "artifact": "markdown artifact",
    "rename": "rename the flow run",
}


def _python(code: str, *args: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def _server(home: Path) -> Iterator[tuple[str, float]]:
    """`prefect server start` as `passive serve` starts it; its API and seconds until healthy."""
    from bench.prefect_bench import _env, _free_port
    from flows.serve import server_env, stop_process_group, wait_healthy

    port = _free_port()
    home.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--analytics-off"]
    env = {**server_env(home, "127.0.0.1", port), **_env(PREFECT_HOME=str(home))}
    env.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    with (home / "server.log").open("ab") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        api = f"http://127.0.0.1:{port}/api"
        wait_healthy(api, process=server, log=home / "server.log")
        yield api, time.perf_counter() - started
    finally:
        stop_process_group(server)


def _start_seconds(home: Path) -> float:
    with _server(home) as (_, seconds):
        return seconds


def profile(repeats: int = 5) -> dict[str, Any]:
    """Every phase's median seconds."""
    from bench.prefect_bench import _env, _fresh

    print("\n== where the Prefect path's seconds go (medians; shared machine)")
    figures: dict[str, float] = {}
    # A configured API, as for a tracked run (no server is started by importing).
    env = _env(PREFECT_API_URL="http://127.0.0.1:9/api")
    imports = [_python(_IMPORTS, env=env) for _ in range(3)]
    for key in imports[0]:
        figures[f"import {key}"] = statistics.median(i[key] for i in imports)
    folder = _fresh("phases")
    figures["server start, new data folder (migrations)"] = _start_seconds(folder / "home")
    figures["server start, existing data folder"] = statistics.median(
        _start_seconds(folder / "home") for _ in range(3)
    )
    with _server(folder / "home") as (api, _):
        env = _env(PREFECT_API_URL=api, PREFECT_LOGGING_LEVEL="WARNING")
        runs = _python(_RUNS, str(repeats), ",".join(PHASE_NAMES), env=env)
        for key, label in PHASE_NAMES.items():
            figures[label] = runs[key]
        figures["API round trip (GET /health)"] = statistics.median(
            _timed_get(f"{api}/health") for _ in range(20)
        )
    for label, seconds in figures.items():
        print(f"   {label:<58} {seconds:7.3f} s")
    return figures


def _timed_get(url: str) -> float:
    started = time.perf_counter()
    httpx.get(url, timeout=10)
    return time.perf_counter() - started


if __name__ == "__main__":
    results = profile()
    OUT.mkdir(parents=True, exist_ok=True)
    saved = OUT / "prefect-phases-latest.json"
    saved.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
