"""`python -m bench prefect`: the Prefect path against the in-process one (issue 12, §6).

Three figures, each measured in the same run, each with its goal:
- `passive demo` through Prefect (its temporary server) / `passive demo --in-process`: <= 2x;
- `passive serve` until it is ready (its "Prefect UI:" line, printed once every deployment is
  registered, and the server lists them all), with a data folder it has used before: < 15 s;
- with that server up, a tracked `passive ingest` of a 260-line report minus the same
  ingest in-process: <= 2 s.

The machine is shared (other work runs alongside), so each figure is a median over `runs`
repeats, and the two sides of a comparison run in interleaved pairs so that a busy moment
hits both. One unmeasured warm-up of each command first: "warm" means Python's bytecode
caches are written and the Prefect data folder exists, as on a user's second run.
`python -m bench.prefect_phases` says where the seconds go.
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

from bench.harness import OUT, ROOT, median, run, verdict

PASSIVE = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "passive")
READY_TIMEOUT = 600.0
DEMO_RATIO_GOAL = 2.0
TRACKED_EXTRA_GOAL = 2.0
SERVE_READY_GOAL = 15.0
SMALL_REPORT_NAME = "Fee-Earnings-UK-2025-11.csv"  # 260 data lines of the demo's sample set


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
    """The environment of a measured command: none of the caller's Prefect or passive settings.

    PYTHONDONTWRITEBYTECODE is dropped too: with it every process compiles Prefect from source
    (~7 s a process here), which no user's installation does past its first run.
    """
    drop = ("PREFECT_", "PASSIVE_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    isolated = {
        # Nobody else's `passive serve` (tests run them) is found and used by a demo here.
        "PASSIVE_SERVES_DIR": str(OUT / "runs" / "serves"),
        "PASSIVE_PREFECT_HOME": str(OUT / "runs" / "no-serve-home"),
    }
    return {**env, **isolated, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def _target(name: str, value: float, bound: str, ok: bool) -> dict[str, Any]:
    print(f"   target {name:<52} {value:8.2f}  {bound:<7} {verdict(ok)}")
    return {"name": name, "value": value, "bound": bound, "pass": ok}


def _demo_once(mode: str, home: Path) -> float:
    folder = _fresh(f"demo-{mode}")
    command = [PASSIVE, "demo", "--db", str(folder / "demo.duckdb")]
    command += ["--in-process"] if mode == "in-process" else []
    return run(command, env=_env(PREFECT_HOME=str(home)), cwd=folder).seconds


def bench_demo(runs: int) -> dict[str, Any]:
    """The demo through Prefect's flows vs in-process, each in a fresh folder and ledger."""
    print(f"\n== demo: through Prefect (temporary server) vs in-process; {runs} interleaved pairs")
    home = _fresh("demo-prefect-home")  # Prefect's data folder, kept across the runs (warm)
    for mode in ("in-process", "prefect"):
        print(f"   warm-up {mode:<10} {_demo_once(mode, home):7.1f} s")
    seconds: dict[str, list[float]] = {"in-process": [], "prefect": []}
    for attempt in range(runs):
        for mode in seconds:
            seconds[mode].append(_demo_once(mode, home))
        pair = seconds["prefect"][-1] / seconds["in-process"][-1]
        print(
            f"   pair {attempt + 1}: in-process {seconds['in-process'][-1]:6.1f} s, "
            f"prefect {seconds['prefect'][-1]:6.1f} s, ratio {pair:.2f}x"
        )
    ratios = [p / i for p, i in zip(seconds["prefect"], seconds["in-process"], strict=True)]
    ratio = median(ratios)
    return {
        "seconds": {mode: median(values) for mode, values in seconds.items()},
        "samples": seconds,
        "ratio": ratio,
        "target": _target("demo prefect/in-process (median of pair ratios)", ratio,
                          f"<= {DEMO_RATIO_GOAL}", ratio <= DEMO_RATIO_GOAL),
    }  # fmt: skip


def _registered(api: str) -> bool:
    """Whether the server lists every deployment of prefect.yaml."""
    from flows.deployments import load_specs

    try:
        response = httpx.post(f"{api}/deployments/filter", json={}, timeout=10)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and len(response.json()) >= len(load_specs())


def _default_sigint() -> None:
    # A bench started in the background (`... &`) ignores SIGINT, and its children inherit
    # that: serve would then miss the Ctrl-C that stops it. A terminal's user has it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _Serve:
    """One `passive serve` in its own process group, timed from spawn until ready."""

    def __init__(self, home: Path, folder: Path) -> None:
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.log = folder / "serve.log"
        command = [PASSIVE, "serve", "--home", str(home), "--port", str(self.port)]
        command += ["--db", str(folder / "served.duckdb")]
        started = time.perf_counter()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=folder, env=_env(), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_default_sigint,
            )  # fmt: skip
        try:
            while not (b"Prefect UI:" in self.log.read_bytes() and _registered(self.api)):
                if self.process.poll() is not None or time.perf_counter() - started > READY_TIMEOUT:
                    raise RuntimeError(f"serve did not get ready:\n{self.log.read_text()[-3000:]}")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        self.ready = time.perf_counter() - started

    def stop(self) -> None:
        """Ctrl-C, as a user stops it; SIGTERM if it did not stop within a minute."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                print("   (serve ignored Ctrl-C; stopped with SIGTERM)")
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=120)


def _ingest_once(mode: str, report: Path, api: str) -> float:
    target = _fresh(f"tracked-{mode}")
    command = [PASSIVE, "ingest", str(report), "--account", "bench", "--marketplace", "UK"]
    command += ["--db", str(target / "ledger.duckdb")]
    env = _env(PREFECT_API_URL=api if mode == "tracked" else "")
    return run(command, env=env, cwd=target).seconds


def bench_serve_and_tracked_ingest(runs: int) -> dict[str, Any]:
    """Serve until ready (first in a new data folder, then warm); a tracked small ingest vs
    the same in-process while a server is up."""
    from sandbox.amazon_reports import write_demo_reports

    print(f"\n== serve until ready ({runs} warm starts), and a tracked ingest of a 260-line")
    print(f"   report vs in-process ({runs} interleaved pairs) while the last serve is up")
    folder = _fresh("serve")
    reports = {r.path.name: r.path for r in write_demo_reports(folder / "reports")}
    report = reports[SMALL_REPORT_NAME]
    home = folder / "home"
    first = _Serve(home, folder)
    first.stop()
    print(f"   serve ready in {first.ready:5.1f} s with a new data folder (migrations)")
    warm: list[float] = []
    extras: list[float] = []
    seconds: dict[str, list[float]] = {"in-process": [], "tracked": []}
    for attempt in range(runs):
        serve = _Serve(home, folder)
        warm.append(serve.ready)
        print(f"   serve ready in {serve.ready:5.1f} s (warm start {attempt + 1})")
        if attempt < runs - 1:
            serve.stop()
    try:
        for mode in seconds:  # warm-up, unmeasured
            _ingest_once(mode, report, serve.api)
        for attempt in range(runs):
            for mode in seconds:
                seconds[mode].append(_ingest_once(mode, report, serve.api))
            extras.append(seconds["tracked"][-1] - seconds["in-process"][-1])
            print(
                f"   pair {attempt + 1}: in-process {seconds['in-process'][-1]:5.2f} s, "
                f"tracked {seconds['tracked'][-1]:5.2f} s, tracked costs {extras[-1]:+.2f} s"
            )
    finally:
        serve.stop()
    ready, extra = median(warm), median(extras)
    return {
        "serve_ready_new_folder_seconds": first.ready,
        "serve_ready_warm_seconds": warm,
        "ingest_seconds": seconds,
        "tracked_extra_seconds": extra,
        "targets": [
            _target("serve ready, warm (median s)", ready, f"< {SERVE_READY_GOAL}",
                    ready < SERVE_READY_GOAL),
            _target("tracked ingest minus in-process (median s)", extra,
                    f"<= {TRACKED_EXTRA_GOAL}", extra <= TRACKED_EXTRA_GOAL),
        ],
    }  # fmt: skip


def bench_prefect(runs: int = 3) -> dict[str, Any]:
    """Every figure of the Prefect path, with its goal."""
    demo = bench_demo(runs)
    serve = bench_serve_and_tracked_ingest(runs)
    print("\n== the Prefect path's goals (issue 12, §6)")
    targets = [demo["target"], *serve["targets"]]
    for target in targets:
        print(f"   {verdict(target['pass'])}  {target['name']}: {target['value']:.2f} "
              f"(goal {target['bound']})")  # fmt: skip
    return {"demo": demo, "serve": serve, "targets": targets}
