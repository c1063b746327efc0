"""`python -m bench prefect`: the Prefect path against the in-process one (issue 12, §6).

Three figures, each a ratio or a difference measured in the same run:
- `passive demo` through Prefect (its temporary server) vs `passive demo --in-process`;
- `passive serve` until it is ready (UI printed and every deployment registered);
- with that server up, a tracked `passive ingest` of a small report vs the same in-process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import OUT, ROOT, run

PASSIVE = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "passive")
SMALL_REPORT = ROOT / "tests" / "fixtures" / "amazon" / "us_earnings.csv"
READY_TIMEOUT = 600.0
DEMO_RATIO_GOAL = 2.0
TRACKED_EXTRA_GOAL = 2.0
SERVE_READY_GOAL = 15.0


def _fresh(name: str) -> Path:
    folder = OUT / "runs" / name
    if folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    folder.mkdir(parents=True)
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PASSIVE_"))}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def bench_demo() -> dict[str, Any]:
    """The demo through Prefect's flows vs in-process, each in a fresh folder and ledger."""
    print("\n== demo: through Prefect (temporary server) vs in-process")
    seconds = {}
    for mode, flag in (("in-process", ["--in-process"]), ("prefect", [])):
        folder = _fresh(f"demo-{mode}")
        command = [PASSIVE, "demo", "--db", str(folder / "demo.duckdb"), *flag]
        result = run(command, env=_env(PREFECT_API_URL="", PREFECT_HOME=str(folder)), cwd=folder)
        seconds[mode] = result.seconds
        print(f"   {mode:<10} {result.seconds:7.1f} s")
    ratio = seconds["prefect"] / seconds["in-process"]
    print(f"   ratio {ratio:.1f}x (goal <= {DEMO_RATIO_GOAL}x)")
    return {"seconds": seconds, "ratio": ratio, "pass": ratio <= DEMO_RATIO_GOAL}


def _registered(api: str) -> bool:
    try:
        response = httpx.post(f"{api}/deployments/filter", json={}, timeout=10)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and len(response.json()) >= 6


def bench_serve_and_tracked_ingest() -> dict[str, Any]:
    """Serve until ready; then a tracked small ingest vs the same in-process."""
    print("\n== serve readiness, then a tracked ingest of a 5-line report vs in-process")
    folder = _fresh("serve")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = folder / "serve.log"
    command = [PASSIVE, "serve", "--home", str(folder / "home"), "--port", str(port)]
    started = time.perf_counter()
    with log.open("wb") as out:
        serve = subprocess.Popen(
            command, cwd=folder, env=_env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        while not (b"Prefect UI:" in log.read_bytes() and _registered(api)):
            if serve.poll() is not None or time.perf_counter() - started > READY_TIMEOUT:
                raise RuntimeError(f"serve did not get ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        ready = time.perf_counter() - started
        print(f"   serve ready in {ready:.1f} s (goal < {SERVE_READY_GOAL} s)")
        seconds = {}
        for mode, url in (("in-process", ""), ("tracked", api)):
            target = _fresh(f"tracked-{mode}")
            ingest = [PASSIVE, "ingest", str(SMALL_REPORT), "--account", "bench"]
            result = run(
                [*ingest, "--db", str(target / "ledger.duckdb")],
                env=_env(PREFECT_API_URL=url),
                cwd=target,
            )
            seconds[mode] = result.seconds
            print(f"   ingest {mode:<10} {result.seconds:6.2f} s")
        extra = seconds["tracked"] - seconds["in-process"]
        print(f"   tracked costs {extra:+.2f} s (goal <= +{TRACKED_EXTRA_GOAL} s)")
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        serve.wait(timeout=120)
    return {
        "serve_ready_seconds": ready,
        "ingest_seconds": seconds,
        "tracked_extra_seconds": extra,
        "pass": ready < SERVE_READY_GOAL and extra <= TRACKED_EXTRA_GOAL,
    }


def bench_prefect() -> dict[str, Any]:
    """Every figure of the Prefect path, with its goal."""
    return {"demo": bench_demo(), "serve": bench_serve_and_tracked_ingest()}
