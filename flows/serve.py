"""`passive serve`: a local Prefect server (unless one is configured) serving every deployment."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
SERVER_START_TIMEOUT = 300.0  # first start migrates a new SQLite database: slow on small machines
SERVER_STOP_TIMEOUT = 30.0
LOCK_FILE = "serve.lock"
STATE_FILE = "serve.json"
SERVER_LOG = "server.log"


class ServeError(RuntimeError):
    """`passive serve` cannot start (already running, port taken, server would not start)."""


def default_home() -> Path:
    """Where serve keeps its Prefect server's database and its lock: $PASSIVE_PREFECT_HOME."""
    return Path(os.environ.get("PASSIVE_PREFECT_HOME") or Path.home() / ".passive" / "prefect")


@dataclass(frozen=True)
class ServeState:
    """What a running `passive serve` tells other `passive` commands (home/serve.json)."""

    pid: int
    api_url: str
    ui_url: str
    db: str


def read_state(home: Path) -> ServeState | None:
    """The state of the serve running from `home`, or None when none is (stale files ignored)."""
    try:
        data = json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
        state = ServeState(int(data["pid"]), data["api_url"], data["ui_url"], data["db"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(state.pid) or not _locked(home):
        return None
    return state


def serves_dir() -> Path:
    """Where each running serve leaves a note of its home (`$PASSIVE_SERVES_DIR`, else
    ~/.passive/serves): a serve started with --home is found by the other commands too."""
    return Path(os.environ.get("PASSIVE_SERVES_DIR") or Path.home() / ".passive" / "serves")


def _noted_homes() -> list[Path]:
    """Homes of serves that left a note, newest first."""
    try:
        notes = sorted(serves_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    homes = []
    for note in notes:
        try:
            homes.append(Path(json.loads(note.read_text(encoding="utf-8"))["home"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return homes


def running_api_url(home: Path | None = None) -> str | None:
    """The API of a `passive serve` running on this machine, for the CLI's tracked runs:
    the one of `home`, else of the default home, else the newest serve with another home."""
    candidates = [home] if home else [default_home(), *_noted_homes()]
    for where in candidates:
        state = read_state(where)
        if state:
            return state.api_url
    return None


@contextlib.contextmanager
def noted(home: Path) -> Iterator[None]:
    """Leave a note of this serve's home in serves_dir() while it runs."""
    note = serves_dir() / f"{os.getpid()}.json"
    try:
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(json.dumps({"home": str(home)}), encoding="utf-8")
    except OSError:
        pass  # without a note, only this home's commands find the serve
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            note.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _locked(home: Path) -> bool:
    """Whether some process holds home/serve.lock (the lock dies with its process)."""
    try:
        with (home / LOCK_FILE).open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


@contextlib.contextmanager
def single_instance(home: Path) -> Iterator[IO[str]]:
    """Hold home/serve.lock for the life of this serve; a second one gets a ServeError.

    flock is released by the kernel when the process dies, so a crashed serve never leaves a
    lock behind that blocks the next one.
    """
    home.mkdir(parents=True, exist_ok=True)
    handle = (home / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        state = read_state(home)
        where = f" (PID {state.pid}, UI at {state.ui_url})" if state else ""
        raise ServeError(
            f"passive serve is already running{where}; use that one, or stop it with Ctrl-C "
            "in its terminal first"
        ) from None
    try:
        yield handle
    finally:
        # Only the holder removes the state file: a refused second serve must not.
        with contextlib.suppress(OSError):
            (home / STATE_FILE).unlink(missing_ok=True)
        handle.close()


def port_free(host: str, port: int) -> bool:
    """Whether `host:port` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def server_env(home: Path, host: str, port: int) -> dict[str, str]:
    """The environment of the local server: its own PREFECT_HOME, telemetry off."""
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_API_HOST": host,
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        }
    )
    return env


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def start_server(
    home: Path, host: str, port: int, *, services: bool = True, log_name: str = SERVER_LOG
) -> subprocess.Popen[bytes]:
    """Start `prefect server start` in its own process group, logging to home/server.log.

    Its own group, so Ctrl-C reaches serve first: runs stop being served before their API
    goes away. Without `services` it is the API alone (no UI, scheduler or automations):
    enough for runs made from this process, and less work on a small machine.
    """
    home.mkdir(parents=True, exist_ok=True)
    log = (home / log_name).open("ab")
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host]
    command += ["--port", str(port), "--analytics-off"]
    command += [] if services else ["--no-services", "--no-ui"]
    try:
        return subprocess.Popen(
            command,
            env=server_env(home, host, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


def wait_healthy(
    api_url: str,
    *,
    timeout: float = SERVER_START_TIMEOUT,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `<api>/health` until it answers, the server exits, or `timeout` passes."""
    # Imported here: every `passive ingest` reads this module to find a running serve, and
    # must not pay httpx's import for it (bench/: re-ingest under 0.5 s).
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            tail = _tail(log) if log else ""
            raise ServeError(f"the Prefect server exited with code {process.returncode}{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=5).status_code == 200:
                return
        if time.monotonic() >= deadline:
            raise ServeError(f"the Prefect server at {api_url} did not answer in {timeout:.0f} s")
        time.sleep(0.5)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"; last lines of {log}:\n" + "\n".join(text)


def stop_process_group(
    process: subprocess.Popen[bytes], timeout: float = SERVER_STOP_TIMEOUT
) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left after `timeout`."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def ui_url_of(api_url: str) -> str:
    """The UI address that goes with an API address (the API lives under /api)."""
    return api_url.removesuffix("/").removesuffix("/api")


def serve(
    *,
    home: Path,
    host: str,
    port: int,
    api_url: str | None,
    db: Path,
    overrides: dict[str, Any],
    prefect_file: Path,
    say: Callable[[str], None],
) -> None:
    """Start (or reuse) the Prefect API, then serve every deployment until Ctrl-C.

    Schedules stay active when serve stops (`pause_on_shutdown=False`): stopping the process
    that runs them should not silently switch a user's schedules off.
    """
    from flows.deployments import load_specs

    specs = load_specs(prefect_file)  # fail on a broken prefect.yaml before starting anything
    with single_instance(home):
        server: subprocess.Popen[bytes] | None = None
        try:
            if api_url is None:
                if not port_free(host, port):
                    raise ServeError(
                        f"{host}:{port} is in use by another program; choose another with "
                        "--port, or point PREFECT_API_URL at the Prefect server already there"
                    )
                api_url = f"http://{host}:{port}/api"
                say(f"starting a local Prefect server on {host}:{port} (data in {home})…")
                server = start_server(home, host, port)
                # The served runs and this process talk to our server with our home.
                os.environ["PREFECT_HOME"] = str(home)
            # Before Prefect is imported (below): it reads both once.
            os.environ["PREFECT_API_URL"] = api_url
            ui_url = ui_url_of(api_url)
            # Built while the server boots: importing Prefect and every flow takes seconds
            # that would otherwise follow the server's own start (bench/prefect_phases.py).
            deployments = _deployments(specs, db=db, overrides=overrides, ui_url=ui_url)
            if server is not None:
                wait_healthy(api_url, process=server, log=home / SERVER_LOG)
            else:
                wait_healthy(api_url, timeout=30)
            state = ServeState(os.getpid(), api_url, ui_url, str(db))
            (home / STATE_FILE).write_text(json.dumps(state.__dict__), encoding="utf-8")
            with noted(home):
                _serve_deployments(deployments, db=db, ui_url=ui_url, say=say)
        finally:
            if server is not None:
                say("stopping the Prefect server…")
                stop_process_group(server)


def _deployments(
    specs: list[Any], *, db: Path, overrides: dict[str, Any], ui_url: str
) -> list[RunnerDeployment]:
    from flows.deployments import runner_deployments
    from flows.summary import summary_link

    return runner_deployments(
        specs,
        overrides={**overrides, "db": str(db)},
        base=Path.cwd(),
        summary_link=summary_link(ui_url),
    )


def _serve_deployments(
    deployments: list[RunnerDeployment],
    *,
    db: Path,
    ui_url: str,
    say: Callable[[str], None],
) -> None:
    """Register every deployment, say where to look, then run scheduled runs until stopped.

    `prefect.serve` does the same, but prints nothing between registering and serving: here
    "Prefect UI: ..." is printed once every deployment is registered, so it means ready.
    """
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    from flows.summary import summary_link

    runner = Runner(pause_on_shutdown=False)
    # One after the other: registered all at once they took 9 s instead of 3 here, the
    # server's SQLite answering "database is locked" (503) and the client backing off.
    for deployment in deployments:
        runner.add_deployment(deployment)
    say(f"serving {len(deployments)} deployments: {', '.join(d.name for d in deployments)}")
    say(f"ledger: {db}")
    say(f"income summary (latest): {summary_link(ui_url)}")
    say(f"Prefect UI: {ui_url}  (Ctrl-C stops serving; the schedules stay active)")
    # Ctrl-C or SIGTERM: the ways serve is meant to stop.
    with contextlib.suppress(KeyboardInterrupt, TerminationSignal):
        asyncio.run(runner.start())
    say("stopped serving")
