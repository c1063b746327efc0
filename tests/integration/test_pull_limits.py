"""Pulls against a misbehaving server end, with one clear error and the ledger untouched.

The server here is a real loopback HTTP server that trickles, stalls, sends bodies too large
or pages without end (issue 10 §3). Deadlines are configured short so the suite stays quick;
nothing here measures time: each test asserts what the pull did and what the server saw.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

from connectors.http import (
    BearerAuth,
    PaginationError,
    RateLimit,
    RequestLimits,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    make_client,
)
from flows import pull_steps
from warehouse.runs import get_cursor

FIXTURES = Path(__file__).parents[1] / "fixtures"
SID = "IRfaultSID42"
# Short enough to keep the suite quick; the trickle and the stall below outlast them many times.
# Each case makes only the limit it tests the tight one, so a busy machine that is slow to
# answer cannot trip another limit first: a trickle meets a deadline far below its read
# timeout, a stall a read timeout far below its deadline, and a plain answer roomy limits.
TRICKLE_LIMITS = {"read_timeout": 10.0, "deadline": 1.5}
STALL_LIMITS = {"read_timeout": 1.0, "deadline": 20.0}
ROOMY_LIMITS = {"read_timeout": 10.0, "deadline": 20.0}
TRICKLE_GAP = 0.05  # a byte every 50 ms: never a read timeout, only the deadline ends it
TRICKLE_BYTES = 600  # 30 s of trickling, then the server gives up (bounds a failing run)
STALL_FOR = 30.0  # a stall outlasts every timeout here; teardown ends it early
MAX_RESPONSE_MB = 1
MAX_PAGES = 5


class FaultServer(ThreadingHTTPServer):
    """A loopback HTTP/1.1 server whose answers misbehave as `mode` says."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.mode = "ok"
        self.paths: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def seen(self) -> int:
        with self.lock:
            return len(self.paths)


class FaultHandler(BaseHTTPRequestHandler):
    """Answers one request as the server's mode says (see each `_mode` method)."""

    protocol_version = "HTTP/1.1"
    server: FaultServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer()

    def _answer(self) -> None:
        with self.server.lock:
            self.server.paths.append(self.path)
        # The client hanging up is what a refused or timed-out answer looks like here.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            getattr(self, f"_{self.server.mode}")()

    def _head(self, length: int | None, chunked: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if length is not None:
            self.send_header("Content-Length", str(length))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self._head(len(data))
        self.wfile.write(data)

    def _ok(self) -> None:
        page = json.loads((FIXTURES / "impact" / "actions_page1.json").read_text())
        self._json({**page, "@nextpageuri": ""})

    def _trickle(self) -> None:
        self._head(TRICKLE_BYTES + 1)
        for _ in range(TRICKLE_BYTES):
            if self.server.stop.wait(TRICKLE_GAP):
                return
            self.wfile.write(b" ")
        self.close_connection = True  # one byte short of what was announced

    def _trickle_headers(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: "
        self.wfile.write(head)
        for _ in range(TRICKLE_BYTES):
            if self.server.stop.wait(TRICKLE_GAP):
                return
            self.wfile.write(b"a")
        self.close_connection = True

    def _stall(self) -> None:
        self._head(100)
        self.wfile.write(b'{"Actions": [')
        self.server.stop.wait(STALL_FOR)
        self.close_connection = True

    def _huge_declared(self) -> None:
        self._head(10 * 2**30)
        chunk = b" " * 65536
        while not self.server.stop.is_set():
            self.wfile.write(chunk)

    def _huge_chunked(self) -> None:
        self._head(None, chunked=True)
        chunk = b" " * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while not self.server.stop.is_set():
            self.wfile.write(frame)

    def _endless(self) -> None:
        if self.command == "POST":  # CJ: payloadComplete false with a fresh cursor each time
            self._json(
                {
                    "data": {
                        "publisherCommissions": {
                            "count": 0,
                            "payloadComplete": False,
                            "maxCommissionId": str(1000 + self.server.seen()),
                            "records": [],
                        }
                    }
                }
            )
            return
        query = parse_qs(urlsplit(self.path).query)
        page = int(query.get("Page", ["1"])[0])
        self._json(
            {
                "@page": str(page),
                "@nextpageuri": f"/Mediapartners/{SID}/Actions?Page={page + 1}",
                "Actions": [],
            }
        )


@pytest.fixture
def server() -> Iterator[FaultServer]:
    fault = FaultServer()
    thread = threading.Thread(target=fault.serve_forever, daemon=True)
    thread.start()
    try:
        yield fault
    finally:
        fault.stop.set()
        fault.shutdown()
        fault.server_close()
        thread.join(timeout=10)


def set_limits(monkeypatch: pytest.MonkeyPatch, *, read_timeout: float, deadline: float) -> None:
    for network in ("IMPACT", "CJ"):
        monkeypatch.setenv(f"PASSIVE_{network}_TIMEOUT_SECONDS", str(read_timeout))
        monkeypatch.setenv(f"PASSIVE_{network}_REQUEST_DEADLINE_SECONDS", str(deadline))


@pytest.fixture
def network_env(server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> FaultServer:
    """impact.com and CJ settings pointing at the fault server, with small caps."""
    settings = {
        "BASE_URL": server.base_url,
        "RATE_LIMIT_REQUESTS": "100000",
        "MAX_RESPONSE_MB": str(MAX_RESPONSE_MB),
        "MAX_PAGES": str(MAX_PAGES),
    }
    for network in ("IMPACT", "CJ"):
        for key, value in settings.items():
            monkeypatch.setenv(f"PASSIVE_{network}_{key}", value)
    set_limits(monkeypatch, **ROOMY_LIMITS)
    monkeypatch.setenv("PASSIVE_IMPACT_ACCOUNT_SID", SID)
    monkeypatch.setenv("PASSIVE_IMPACT_AUTH_TOKEN", "fault-impact-token-1234")
    monkeypatch.setenv("PASSIVE_CJ_TOKEN", "fault-cj-token-1234")
    monkeypatch.setenv("PASSIVE_CJ_PUBLISHER_ID", "7654321")
    return server


def client(
    server: FaultServer,
    *,
    timeout_attempts: int = 2,
    read_timeout: float = ROOMY_LIMITS["read_timeout"],
    deadline: float = ROOMY_LIMITS["deadline"],
):
    return make_client(
        network="impact",
        base_url=server.base_url,
        auth=BearerAuth("fault-token-abcdef"),
        rate_limit=RateLimit(100000, 1),
        timeout=read_timeout,
        retry=RetryPolicy(initial_backoff=0.01, jitter=0.0, timeout_attempts=timeout_attempts),
        limits=RequestLimits(
            deadline=deadline, max_response_bytes=MAX_RESPONSE_MB * 2**20, max_pages=MAX_PAGES
        ),
    )


def test_a_body_trickling_a_byte_at_a_time_ends_at_the_request_deadline(server):
    server.mode = "trickle"
    with client(server, **TRICKLE_LIMITS) as api, pytest.raises(RequestTimeoutError) as caught:
        api.get_json("/trickle", page=1)
    text = str(caught.value)
    assert "deadline" in text and "impact.com" in text and "/trickle" in text
    assert "gave up after 2 attempts" in text
    assert server.seen() == 2


def test_headers_trickling_a_byte_at_a_time_end_at_the_deadline_too(server):
    server.mode = "trickle_headers"
    with (
        client(server, timeout_attempts=1, **TRICKLE_LIMITS) as api,
        pytest.raises(RequestTimeoutError) as caught,
    ):
        api.get_json("/slow-headers")
    assert "deadline" in str(caught.value)
    assert server.seen() == 1


def test_a_body_stalled_after_its_headers_is_tried_only_timeout_attempts_times(server):
    server.mode = "stall"
    with (
        client(server, timeout_attempts=2, **STALL_LIMITS) as api,
        pytest.raises(RequestTimeoutError) as caught,
    ):
        api.get_json("/stall")
    assert "ReadTimeout" in str(caught.value) and "gave up after 2 attempts" in str(caught.value)
    assert server.seen() == 2  # not the 5 tries a 429 or 500 gets


@pytest.mark.parametrize("mode", ["huge_declared", "huge_chunked"])
def test_a_body_over_the_size_cap_is_refused_and_not_retried(server, mode):
    server.mode = mode
    with client(server) as api, pytest.raises(ResponseTooLargeError) as caught:
        api.get_json("/huge", page=3)
    text = str(caught.value)
    assert "1 MB cap" in text and "(page 3)" in text and "PASSIVE_IMPACT_MAX_RESPONSE_MB" in text
    assert server.seen() == 1


def test_pages_beyond_the_ceiling_are_refused_before_they_are_requested(server):
    server.mode = "endless"
    with client(server) as api, pytest.raises(PaginationError) as caught:
        for page in range(1, 100):
            api.get_json(f"/Mediapartners/{SID}/Actions?Page={page}", page=page)
    assert f"after {MAX_PAGES}" in str(caught.value) and "impact.com" in str(caught.value)
    assert server.seen() == MAX_PAGES


@pytest.mark.parametrize(("network", "label"), [("impact", "impact.com"), ("cj", "CJ")])
def test_a_pull_that_pages_without_end_fails_naming_the_network(network_env, db, network, label):
    network_env.mode = "endless"
    summary = pull_steps.pull(network, db=db, since=date(2024, 9, 1), until=date(2024, 9, 20))
    assert summary.status == "failed" and summary.exit_code == 2
    assert summary.message is not None
    assert summary.message.startswith(f"{label}: the API still offered more pages")
    assert f"PASSIVE_{network.upper()}_MAX_PAGES" in summary.message
    assert network_env.seen() == MAX_PAGES


def cursor(db: Path) -> object:
    with duckdb.connect(str(db)) as con:
        return get_cursor(con, network="impact", account="impact", stream=pull_steps.STREAM)


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("trickle", "deadline"),
        ("trickle_headers", "deadline"),
        ("stall", "ReadTimeout"),
        ("huge_declared", "MB cap"),
        ("huge_chunked", "MB cap"),
        ("endless", "more pages"),
    ],
)
def test_a_pull_cut_short_changes_neither_the_ledger_nor_the_cursor(
    network_env, db, snapshot, monkeypatch, mode, error
):
    window = {"since": date(2024, 9, 1), "until": date(2024, 9, 20)}
    first = pull_steps.pull("impact", db=db, **window)
    assert first.status == "completed", first.message
    assert first.result is not None and first.result.inserted
    before, saved = snapshot(db), cursor(db)
    assert saved is not None

    network_env.mode = mode
    if mode.startswith("trickle"):
        set_limits(monkeypatch, **TRICKLE_LIMITS)
    elif mode == "stall":
        set_limits(monkeypatch, **STALL_LIMITS)
    summary = pull_steps.pull("impact", db=db, **window)

    assert summary.status == "failed" and summary.exit_code == 2
    assert summary.message is not None and error in summary.message
    assert "\n" not in summary.message
    assert snapshot(db) == before
    assert cursor(db) == saved
