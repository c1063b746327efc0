"""`passive serve` against a real local Prefect server: runs, the writer slot, locks, secrets, UI.

One `passive serve` (which starts its own Prefect server on a free port, with its own
PREFECT_HOME) is shared by the whole module: starting a server costs 10-20 s here. Every test
talks to it over plain HTTP, the way the UI and `prefect` CLI do.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"
PROJECT = Path(__file__).parents[2]
START_TIMEOUT = 300.0  # generous bounds for polling on a busy 2-core machine; never asserted
RUN_TIMEOUT = 300.0
LOCK_TIMEOUT = "20"  # PASSIVE_LOCK_TIMEOUT of the served runs
PASSIVE = (sys.executable, "-m", "flows.cli")
PREFECT = (sys.executable, "-m", "prefect")
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running `passive serve` and where it keeps things."""

    process: subprocess.Popen[bytes]
    api: str
    ui: str
    home: Path
    workdir: Path
    inbox: Path
    db: Path
    log: Path
    sandbox: Any

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=30)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _all_registered(api: str) -> bool:
    from flows.deployments import load_specs

    with httpx.Client(base_url=api, timeout=30) as client:
        response = client.post("/deployments/filter", json={})
        # Every deployment of prefect.yaml, however many there are now.
        return response.status_code == 200 and len(response.json()) == len(load_specs())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from sandbox.server import run_sandbox

    root = tmp_path_factory.mktemp("serve")
    home, workdir = root / "prefect-home", root / "work"
    workdir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PASSIVE_"))}
    with run_sandbox(7) as sandbox:
        env.update(
            {
                "PASSIVE_LOCK_TIMEOUT": LOCK_TIMEOUT,
                # Only the address: credentials must come from Secret blocks (see the test).
                "PASSIVE_IMPACT_BASE_URL": sandbox.base_url,
                "PREFECT_RUNNER_POLL_FREQUENCY": "2",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                # Where serve notes its --home for the other commands (not the user's ~).
                "PASSIVE_SERVES_DIR": str(root / "serves"),
            }
        )
        log = root / "serve.log"
        command = [*PASSIVE, "serve", "--home", str(home)]
        command += ["--port", str(port), "--account", "served-us", "--marketplace", "US"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        api = f"http://127.0.0.1:{port}/api"
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while "Prefect UI:" not in log.read_text(errors="replace"):
                assert process.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.5)
            while not _all_registered(api):  # serve registers them, then starts polling
                assert process.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.5)
            yield Served(
                process=process,
                api=api,
                ui=f"http://127.0.0.1:{port}",
                home=home,
                workdir=workdir,
                inbox=workdir / "inbox",
                db=workdir / "ledger.duckdb",
                log=log,
                sandbox=sandbox,
            )
        finally:
            _stop(process)


# --- talking to the API -------------------------------------------------------------------


def call(served: Served, method: str, path: str, body: Any = None) -> Any:
    """One API request, retried while the server says it is busy (as Prefect's client does).

    SQLite-backed servers answer 503 when a write waits too long on a busy machine.
    """
    deadline = time.monotonic() + RUN_TIMEOUT
    with served.client() as client:
        while True:
            response = client.request(method, path, json=body)
            if response.status_code not in (429, 502, 503) or time.monotonic() > deadline:
                response.raise_for_status()
                return response.json()
            time.sleep(1)


def deployment(served: Served, flow: str, name: str) -> dict[str, Any]:
    return dict(call(served, "GET", f"/deployments/name/{flow}/{name}"))


def start_run(served: Served, flow: str, name: str, **parameters: Any) -> str:
    """Trigger a run of a deployment (what the UI's Run button does); returns its id."""
    found = deployment(served, flow, name)
    path = f"/deployments/{found['id']}/create_flow_run"
    return str(call(served, "POST", path, {"parameters": parameters})["id"])


def read_run(served: Served, run_id: str) -> dict[str, Any]:
    return dict(call(served, "GET", f"/flow_runs/{run_id}"))


def wait_final(served: Served, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        run = read_run(served, run_id)
        if run["state_type"] in FINAL:
            return run
        assert time.monotonic() < deadline, f"run {run['name']} still {run['state_type']}"
        time.sleep(1)


def artifacts(served: Served, key: str) -> list[dict[str, Any]]:
    body = {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC"}
    return list(call(served, "POST", "/artifacts/filter", body))


def run_logs(served: Served, run_id: str) -> list[str]:
    body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
    return [entry["message"] for entry in call(served, "POST", "/logs/filter", body)]


def wait_for_log(served: Served, run_id: str, text: str) -> list[str]:
    """The run's log lines once one holds `text`: a failure hook logs after the run's final
    state is set, and Prefect ships logs in the background, so they can trail the state."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        lines = run_logs(served, run_id)
        if any(text in line for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.5)


def task_runs(served: Served, run_id: str) -> list[dict[str, Any]]:
    body = {"flow_runs": {"id": {"any_": [run_id]}}}
    return list(call(served, "POST", "/task_runs/filter", body))


def monthly(db: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT month, network, account, currency, status, sales, commission, lines"
            " FROM revenue_monthly ORDER BY ALL"
        ).fetchall()


def lines(db: Path) -> list[tuple[Any, ...]]:
    """The ledger's lines without what differs between runs (run ids, timestamps)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT network, account, line_id, event_date, status, sale_amount,"
            " commission_amount, currency, quantity, product_id, tracking_id"
            " FROM commissions ORDER BY ALL"
        ).fetchall()


@contextlib.contextmanager
def reader_holding(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with a read-only DuckDB session on the file, like a user's SQL shell."""
    code = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
        "print('open', flush=True)\n"
        "sys.stdin.read()\n"
        "con.close()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "open"
        yield process
    finally:
        release(process)


def release(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)


# --- the deployments ----------------------------------------------------------------------


def test_prefect_yaml_defines_the_served_deployments_with_schedules() -> None:
    from flows.deployments import load_specs, to_schedule

    specs = {s.name: s for s in load_specs()}
    assert list(specs) == [
        "amazon-inbox",
        "impact-daily",
        "awin-daily",
        "cj-daily",
        "amazon-daily",
        "ledger-summary",
        "ingest-files",
        "fx-daily",
        "accounts-all",
    ]
    assert specs["amazon-inbox"].schedules[0]["interval"] == 900
    assert specs["amazon-inbox"].parameters["inbox"] == "inbox"
    mornings = [specs[n].schedules[0]["cron"] for n in ("impact-daily", "awin-daily", "cj-daily")]
    assert len(set(mornings)) == 3  # staggered
    # The Creators API pull runs after the other pulls and before the summary that reads them.
    daily = ("impact-daily", "awin-daily", "cj-daily", "amazon-daily", "ledger-summary")
    at = {n: [int(x) for x in specs[n].schedules[0]["cron"].split()[1::-1]] for n in daily}
    pulls = max(at[n] for n in ("impact-daily", "awin-daily", "cj-daily"))
    assert pulls < at["amazon-daily"] < at["ledger-summary"]
    assert specs["amazon-daily"].entrypoint == "flows.amazon_flow.pull_amazon"
    for spec in specs.values():
        for entry in spec.schedules:
            assert entry["timezone"] and to_schedule(entry).timezone == entry["timezone"]
    assert specs["ingest-files"].schedules == ()


def settle(served: Served, flow: str, name: str) -> None:
    """Wait out the deployment's runs already due: an interval schedule's first run is at once.

    Otherwise that scheduled run could pick up the report the test drops in the inbox.
    """
    found = deployment(served, flow, name)
    deadline = time.monotonic() + RUN_TIMEOUT
    body = {
        "deployments": {"id": {"any_": [found["id"]]}},
        "flow_runs": {
            "state": {"type": {"not_any_": sorted(FINAL)}},
            "expected_start_time": {"before_": datetime.now(UTC).isoformat()},
        },
    }
    while call(served, "POST", "/flow_runs/filter", body):
        assert time.monotonic() < deadline
        time.sleep(1)


@pytest.fixture(scope="module")
def inbox_run(served: Served) -> dict[str, Any]:
    """A report dropped in the served inbox, then amazon-inbox and ledger-summary triggered."""
    settle(served, "amazon-inbox", "amazon-inbox")
    served.inbox.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "us_earnings.csv", served.inbox / "Fee-Earnings-2020-12.csv")
    inbox_id = start_run(served, "amazon-inbox", "amazon-inbox")
    inbox = wait_final(served, inbox_id)
    summary = wait_final(served, start_run(served, "ledger-summary", "ledger-summary"))
    return {"inbox": inbox, "summary": summary}


def test_a_report_in_the_inbox_is_ingested_by_the_served_deployment(served, inbox_run):
    run = inbox_run["inbox"]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"] == "amazon inbox served-us 2020-12-01..2020-12-31"
    assert [p.name for p in served.inbox.iterdir() if p.is_file()] == []
    assert [
        p.name.endswith("Fee-Earnings-2020-12.csv") for p in (served.inbox / "archive").iterdir()
    ]
    rows = monthly(served.db)
    assert {(r[1], r[2], r[3]) for r in rows} == {("amazon", "served-us", "USD")}
    published = artifacts(served, "amazon-ingest-served-us")
    assert published and published[0]["flow_run_id"] == run["id"]
    assert "Fee-Earnings-2020-12.csv" in published[0]["data"]


def test_ledger_summary_publishes_the_passive_income_artifact(served, inbox_run):
    run = inbox_run["summary"]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"] == "ledger summary 2020-12..2020-12"
    published = artifacts(served, "passive-income")
    assert published[0]["flow_run_id"] == run["id"]
    markdown = published[0]["data"]
    header = "| month | earned | pending | reversed | net | lines | change on last month |"
    assert header in markdown
    assert "| 2020-12 | 49.37 | 0.00 | 0.00 | 49.37 | 5 | – |" in markdown
    assert "![Net USD per month](data:image/svg+xml;base64," in markdown
    assert "| 2020-12 | amazon | served-us | 49.37 | 0.00 | 0.00 | 49.37 | 5 |" in markdown
    (table,) = artifacts(served, "passive-income-table")[:1]
    assert table["type"] == "table" and table["flow_run_id"] == run["id"]
    assert '"network": "amazon"' in table["data"] and '"net": "49.37"' in table["data"]

    # December 2020's Amazon earnings were due 2021-03-01: long overdue, nothing to come.
    assert "## Money arriving in the next 90 days" in markdown
    assert "No payment is expected in that time." in markdown
    assert "## Overdue" in markdown and "| amazon |" in markdown


def test_serve_links_the_latest_income_summary_everywhere(served, inbox_run):
    link = f"{served.ui}/artifacts/key/passive-income"
    assert f"income summary (latest): {link}" in served.log.read_text(errors="replace")
    for flow, name in (("pull-network", "impact-daily"), ("amazon-inbox", "amazon-inbox")):
        assert link in deployment(served, flow, name)["description"]
    assert link in artifacts(served, "amazon-ingest-served-us")[0]["data"]


def test_every_write_holds_the_one_writer_limit(served, inbox_run):
    limit = call(served, "GET", "/v2/concurrency_limits/passive-ledger-writer")
    assert limit["limit"] == 1 and limit["active"] and limit["active_slots"] == 0


def test_a_second_serve_says_one_is_running(served):
    result = subprocess.run(
        [*PASSIVE, "serve", "--home", str(served.home), "--port", str(free_port())],
        cwd=served.workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PREFECT_API_URL": ""},
    )
    assert result.returncode == 1
    assert "already running" in result.stderr and str(served.process.pid) in result.stderr


def test_two_runs_at_once_equal_the_same_runs_one_after_the_other(served, tmp_path):
    from flows.ingest_steps import ingest_files

    together, apart = tmp_path / "together.duckdb", tmp_path / "apart.duckdb"
    inbox = tmp_path / "inbox-uk"
    inbox.mkdir()
    shutil.copy(FIXTURES / "uk_earnings.csv", inbox / "uk.csv")
    first = start_run(
        served,
        "amazon-inbox",
        "amazon-inbox",
        inbox=str(inbox),
        account="two-uk",
        marketplace="UK",
        db=str(together),
    )
    second = start_run(
        served,
        "ingest-report-files",
        "ingest-files",
        paths=[str(FIXTURES / "it_earnings.csv")],
        account="two-it",
        marketplace="IT",
        db=str(together),
    )
    runs = [wait_final(served, first), wait_final(served, second)]
    assert [r["state_type"] for r in runs] == ["COMPLETED", "COMPLETED"], [r["state"] for r in runs]

    ingest_files([FIXTURES / "uk_earnings.csv"], db=apart, account="two-uk", marketplace="UK")
    ingest_files([FIXTURES / "it_earnings.csv"], db=apart, account="two-it", marketplace="IT")
    assert lines(together) == lines(apart)
    assert monthly(together) == monthly(apart)


def _seed(db: Path) -> None:
    from flows.ingest_steps import ingest_files

    ingest_files([FIXTURES / "us_earnings.csv"], db=db, account="lock-us", marketplace="US")


def _wait_for_load_task(served: Served, run_id: str) -> None:
    """Until the run's load task is running: it is then retrying the held file lock."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not any(
        t["name"].startswith("load ") and t["state_type"] == "RUNNING"
        for t in task_runs(served, run_id)
    ):
        assert read_run(served, run_id)["state_type"] not in FINAL
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_a_run_waits_for_a_readers_session_then_completes(served, tmp_path):
    db = tmp_path / "held.duckdb"
    _seed(db)
    with reader_holding(db) as reader:
        run_id = start_run(
            served,
            "ingest-report-files",
            "ingest-files",
            paths=[str(FIXTURES / "uk_earnings.csv")],
            account="lock-uk",
            marketplace="UK",
            db=str(db),
        )
        _wait_for_load_task(served, run_id)
        assert {r[2] for r in monthly(db)} == {"lock-us"}  # nothing written while it waits
        release(reader)
        run = wait_final(served, run_id)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert {r[2] for r in monthly(db)} == {"lock-us", "lock-uk"}


def test_a_run_held_off_past_the_limit_fails_clearly_and_changes_nothing(
    served, tmp_path, snapshot
):
    db = tmp_path / "held.duckdb"
    _seed(db)
    before = snapshot(db)
    with reader_holding(db):
        run_id = start_run(
            served,
            "ingest-report-files",
            "ingest-files",
            paths=[str(FIXTURES / "uk_earnings.csv")],
            account="lock-uk",
            marketplace="UK",
            db=str(db),
        )
        run = wait_final(served, run_id)
        assert snapshot(db) == before  # read alongside the holder: other readers are fine
    assert run["state_type"] == "FAILED"
    message = run["state"]["message"]
    assert "LedgerLockedError" in message and "the ledger is locked" in message
    assert "PASSIVE_LOCK_TIMEOUT" in message and "Close that program" in message
    # The run's last line, then the cause: said once in the run's logs (issue 12, section 2).
    logs = wait_for_log(served, run_id, "Finished in state Failed")
    assert sum("LedgerLockedError" in line for line in logs) == 1, logs
    assert snapshot(db) == before


def test_pull_credentials_come_from_secret_blocks_and_are_checked_before_any_request(
    served, tmp_path
):
    from sandbox.server import SANDBOX_IMPACT_SID, SANDBOX_IMPACT_TOKEN

    db = tmp_path / "pull.duckdb"
    served.sandbox.clear_requests()
    failed = wait_final(served, start_run(served, "pull-network", "impact-daily", db=str(db)))
    assert failed["state_type"] == "FAILED"
    message = failed["state"]["message"]
    assert "PASSIVE_IMPACT_ACCOUNT_SID" in message and "PASSIVE_IMPACT_AUTH_TOKEN" in message
    assert "passive secrets set impact" in message
    assert served.sandbox.requests("impact") == []

    # No PREFECT_API_URL: `secrets set` finds the serve started with --home by its note.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PASSIVE_"))}
    env |= {
        "PASSIVE_SERVES_DIR": str(served.home.parent / "serves"),
        "PASSIVE_PREFECT_HOME": str(tmp_path / "no-serve-here"),
    }
    stored = subprocess.run(
        [*PASSIVE, "secrets", "set", "impact"],
        input=f"{SANDBOX_IMPACT_SID}\n{SANDBOX_IMPACT_TOKEN}\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        start_new_session=True,  # no terminal: the values are read from the pipe
    )
    assert stored.returncode == 0, stored.stderr
    assert SANDBOX_IMPACT_TOKEN not in stored.stdout + stored.stderr
    assert "stored passive-impact-auth-token" in stored.stdout
    assert "GetPassWarning" not in stored.stderr and "Still processing" not in stored.stderr

    pulled = wait_final(served, start_run(served, "pull-network", "impact-daily", db=str(db)))
    assert pulled["state_type"] == "COMPLETED", pulled["state"]["message"]
    assert pulled["name"].startswith("pull impact ") and ".." in pulled["name"]
    assert {r[1] for r in monthly(db)} == {"impact"}
    assert artifacts(served, "impact-pull")[0]["flow_run_id"] == pulled["id"]


def test_secrets_from_env_are_stored_and_a_401_names_the_secret_block(served, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PASSIVE_"))}
    env |= {"PREFECT_API_URL": served.api, **served.sandbox.env()}
    env |= {"PASSIVE_CJ_TOKEN": "a-wrong-token"}
    run = {"capture_output": True, "text": True, "timeout": 300, "cwd": tmp_path}
    stored = subprocess.run([*PASSIVE, "secrets", "set", "cj", "--from-env"], env=env, **run)
    assert stored.returncode == 0, stored.stderr
    assert "stored passive-cj-token" in stored.stdout and "a-wrong-token" not in stored.stdout
    # `secrets list` shows each account's blocks: passive.toml's accounts, not networks.
    config = tmp_path / "accounts.toml"
    config.write_text('[accounts.cj]\nnetwork = "cj"\n\n[accounts.cj-shop]\nnetwork = "cj"\n')
    listed = subprocess.run([*PASSIVE, "secrets", "list", "--config", str(config)], env=env, **run)
    assert listed.returncode == 0, listed.stderr
    rows = [re.split(r"\s*│\s*", line.strip("│ ")) for line in listed.stdout.splitlines()]
    assert [r for r in rows if len(r) == 4 and r[1] == "cj"] == [
        ["cj", "cj", "passive-cj-token", "stored"],
        ["cj", "cj", "passive-cj-publisher-id", "stored"],
        ["cj-shop", "cj", "passive-cj-shop-token", "-"],
        ["cj-shop", "cj", "passive-cj-shop-publisher-id", "-"],
    ], listed.stdout
    # The environment now holds the right token; the Secret block (the wrong one) wins, and
    # the refusal says so rather than sending the user to the environment.
    env["PASSIVE_CJ_TOKEN"] = served.sandbox.env()["PASSIVE_CJ_TOKEN"]
    pulled = subprocess.run(
        [*PASSIVE, "pull", "cj", "--db", str(tmp_path / "cj.duckdb")], env=env, **run
    )
    assert pulled.returncode == 2
    last = pulled.stderr.strip().splitlines()[-1]
    assert last.startswith("error: pull cj failed") and "(401)" in last, pulled.stderr
    assert "PASSIVE_CJ_TOKEN (from the Secret block passive-cj-token)" in last


# --- alerts -------------------------------------------------------------------------------


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP endpoint on loopback that keeps every JSON body POSTed to it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def wait_for_post(received: list[dict[str, Any]], text: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        found = [body for body in received if text in json.dumps(body)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no alert mentioning {text!r}: {received}"
        time.sleep(1)


def passive_cli(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    """`passive ...` in another terminal while serve runs: tracked by its server."""
    return subprocess.run(
        [*PASSIVE, *args], cwd=served.workdir, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PREFECT_API_URL": served.api},
    )  # fmt: skip


def wait_for_mail(received: list[EmailMessage], text: str) -> EmailMessage:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        found = [m for m in received if text in str(m["Subject"]) + m.get_content()]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no email mentioning {text!r}"
        time.sleep(1)


def test_an_alert_fires_for_a_failed_run_and_a_cli_run_with_rejects(served, tmp_path):
    from tests.smtp_receiver import smtp_receiver

    with webhook_receiver() as (url, received), smtp_receiver() as (smtp_port, mails):
        added = passive_cli(served, "alerts", "add", "--name", "hook", "--webhook", url)
        assert added.returncode == 0, added.stderr
        # The same failure by email: the server's automation sends it through `passive-email`.
        mail = passive_cli(
            served, "alerts", "add", "--name", "mail", "--email", "me@example.com",
            "--smtp", f"127.0.0.1:{smtp_port}",
        )  # fmt: skip
        assert mail.returncode == 0, mail.stderr
        listed = passive_cli(served, "alerts", "list", "--format", "csv")
        assert "hook,custom-webhook/passive-alert-hook,on" in listed.stdout, listed.stdout
        assert "mail,passive-email/passive-alert-mail,on" in listed.stdout, listed.stdout

        failed = start_run(
            served, "ingest-report-files", "ingest-files",
            paths=[str(tmp_path / "missing.csv")], account="alert-me", db=str(tmp_path / "a.db"),
        )  # fmt: skip
        run = wait_final(served, failed)
        assert run["state_type"] == "FAILED"
        body = wait_for_post(received, run["name"])
        assert "Failed" in body["subject"] and "missing.csv: no such file" in body["text"]
        email = wait_for_mail(mails, run["name"])
        assert email["To"] == "me@example.com" and "Failed" in str(email["Subject"])
        assert "missing.csv: no such file" in email.get_content()
        assert passive_cli(served, "alerts", "remove", "mail").returncode == 0

        # A CLI ingest with rejected lines: its run carries the deployment's tags, so the
        # same alert fires, naming the state a clean run never has.
        cli = passive_cli(
            served, "ingest", str(FIXTURES / "bad_rows.csv"), "--account", "cli-rejects",
            "--db", str(tmp_path / "b.duckdb"),
        )  # fmt: skip
        assert cli.returncode == 1, cli.stderr
        body = wait_for_post(received, "Completed with rejects")
        assert "cli-rejects" in body["subject"] and "lines rejected" in body["text"]

        removed = passive_cli(served, "alerts", "remove", "hook")
        assert removed.returncode == 0, removed.stderr
        assert "hook" not in passive_cli(served, "alerts", "list").stdout


# --- the UI in a real browser -------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_ui_shows_the_completed_run_and_the_income_artifact(served, inbox_run, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    run = inbox_run["inbox"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)  # a busy machine renders the UI slowly
            page.goto(f"{served.ui}/runs")
            expect(page.get_by_text(run["name"]).first).to_be_visible()
            page.screenshot(path=tmp_path / "runs.png", full_page=True)

            page.goto(f"{served.ui}/runs/flow-run/{run['id']}")
            expect(page.get_by_text(run["name"]).first).to_be_visible()
            expect(page.get_by_text("Completed").first).to_be_visible()
            page.screenshot(path=tmp_path / "run.png", full_page=True)

            page.goto(f"{served.ui}/artifacts/key/passive-income")
            expect(page.get_by_text(inbox_run["summary"]["name"]).first).to_be_visible()
            page.screenshot(path=tmp_path / "passive-income-timeline.png", full_page=True)

            # From the deployment page: its Description tab, then the summary link in it.
            found = deployment(served, "ledger-summary", "ledger-summary")
            page.goto(f"{served.ui}/deployments/deployment/{found['id']}")
            # The deployment page shows its description under the Description tab.
            page.get_by_text("Description", exact=True).first.click()
            page.screenshot(path=tmp_path / "deployment.png", full_page=True)
            link = page.locator(f'a[href="{served.ui}/artifacts/key/passive-income"]').first
            expect(link).to_be_visible()
            # The UI opens description links in a new tab; follow it in this one.
            page.goto(str(link.get_attribute("href")))
            page.screenshot(path=tmp_path / "summary-key.png", full_page=True)
            latest = artifacts(served, "passive-income")[0]
            page.goto(f"{served.ui}/artifacts/artifact/{latest['id']}")
            expect(page.get_by_text("Passive income by month").first).to_be_visible()
            expect(page.get_by_role("cell", name="49.37").first).to_be_visible()
            expect(page.get_by_role("cell", name="served-us").first).to_be_visible()
            chart = page.get_by_role("img", name="Net USD per month")
            expect(chart).to_be_visible()
            # The browser decoded and drew the SVG: an image that failed has no natural size.
            assert chart.evaluate("img => img.complete && img.naturalWidth") > 0
            box = chart.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
            page.screenshot(path=tmp_path / "passive-income.png", full_page=True)
        finally:
            browser.close()
    print(f"screenshots in {tmp_path}")


# --- deploying elsewhere, and stopping --------------------------------------------------


def test_prefect_deploy_all_succeeds_against_the_server(served):
    env = {**os.environ, "PREFECT_API_URL": served.api}
    run = {"cwd": PROJECT, "env": env, "capture_output": True, "text": True, "timeout": 300}
    pool = subprocess.run(
        [*PREFECT, "work-pool", "create", "passive-process", "--type", "process"],
        **run,
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deployed = subprocess.run([*PREFECT, "--no-prompt", "deploy", "--all"], **run)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    found = deployment(served, "pull-network", "awin-daily")
    assert found["work_pool_name"] == "passive-process"
    assert found["pull_steps"] == [{"flows.deployments.project_directory": {}}]
    assert [s["active"] for s in found["schedules"]] == [True]


def test_ctrl_c_stops_serve_and_its_server_and_leaves_the_schedules_active(served):
    _stop(served.process)
    assert served.process.returncode == 0, served.log.read_text(errors="replace")[-3000:]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{served.api}/health", timeout=5)
    assert not (served.home / "serve.json").exists()
    with contextlib.closing(sqlite3.connect(served.home / "prefect.db")) as con:
        schedules = con.execute("SELECT active FROM deployment_schedule").fetchall()
        paused = con.execute("SELECT name FROM deployment WHERE paused").fetchall()
    assert schedules and all(active for (active,) in schedules)
    assert paused == []
