"""Run the sandbox on a free loopback port in a background thread (tests, demo, bench)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from sandbox.amazon_api import SANDBOX_AMAZON_CLIENT_ID, SANDBOX_AMAZON_CLIENT_SECRET
from sandbox.app import create_app
from sandbox.dataset import Dataset, Network, PhaseChanges, Totals
from sandbox.ecb import EcbRates
from sandbox.networks import (
    SANDBOX_AWIN_PUBLISHER_ID,
    SANDBOX_AWIN_TOKEN,
    SANDBOX_CJ_PUBLISHER_ID,
    SANDBOX_CJ_TOKEN,
    SANDBOX_IMPACT_SID,
    SANDBOX_IMPACT_TOKEN,
    SandboxAccount,
    SandboxState,
    sandbox_account,
)
from sandbox.networks.amazon import LWA_PATH, AmazonState, amazon_state

__all__ = [
    "SANDBOX_AMAZON_CLIENT_ID",
    "SANDBOX_AMAZON_CLIENT_SECRET",
    "SANDBOX_AWIN_PUBLISHER_ID",
    "SANDBOX_AWIN_TOKEN",
    "SANDBOX_CJ_PUBLISHER_ID",
    "SANDBOX_CJ_TOKEN",
    "SANDBOX_IMPACT_SID",
    "SANDBOX_IMPACT_TOKEN",
    "SandboxHandle",
    "env",
    "run_sandbox",
]

STARTUP_TIMEOUT = 30.0


def env(base_url: str) -> dict[str, str]:
    """PASSIVE_* settings pointing every connector at a sandbox (base = scheme+host[:port])."""
    base = base_url.rstrip("/")
    return {
        "PASSIVE_IMPACT_ACCOUNT_SID": SANDBOX_IMPACT_SID,
        "PASSIVE_IMPACT_AUTH_TOKEN": SANDBOX_IMPACT_TOKEN,
        "PASSIVE_IMPACT_BASE_URL": base,
        "PASSIVE_AWIN_TOKEN": SANDBOX_AWIN_TOKEN,
        "PASSIVE_AWIN_PUBLISHER_ID": SANDBOX_AWIN_PUBLISHER_ID,
        "PASSIVE_AWIN_BASE_URL": base,
        "PASSIVE_CJ_TOKEN": SANDBOX_CJ_TOKEN,
        "PASSIVE_CJ_PUBLISHER_ID": SANDBOX_CJ_PUBLISHER_ID,
        "PASSIVE_CJ_BASE_URL": base,
        "PASSIVE_AMAZON_CLIENT_ID": SANDBOX_AMAZON_CLIENT_ID,
        "PASSIVE_AMAZON_CLIENT_SECRET": SANDBOX_AMAZON_CLIENT_SECRET,
        "PASSIVE_AMAZON_CREDENTIAL_VERSION": "3.1",
        "PASSIVE_AMAZON_BASE_URL": base,
        "PASSIVE_AMAZON_TOKEN_URL": f"{base}{LWA_PATH}",
        "PASSIVE_FX_BASE_URL": base,
    }


@dataclass
class SandboxHandle:
    """A running sandbox: its URL, its dataset, and direct (in-process) admin helpers."""

    base_url: str
    state: SandboxState

    @property
    def ecb(self) -> EcbRates:
        """The ECB rates the sandbox serves (republish() corrects a fixing)."""
        return self.state.ecb

    @property
    def dataset(self) -> Dataset:
        """The live dataset the server answers from."""
        return self.state.dataset

    def env(self) -> dict[str, str]:
        """PASSIVE_* settings for this sandbox."""
        return env(self.base_url)

    def set_fault(
        self,
        network: str,
        kind: str,
        count: int = 1,
        retry_after: int = 1,
        delay: float = 1.0,
    ) -> None:
        """Arm a fault (sandbox.networks.FAULT_KINDS, or reset) for the next `count` requests."""
        self.state.set_fault(network, kind, count, retry_after, delay)

    def clear_faults(self, network: str | None = None) -> None:
        """Disarm faults."""
        self.state.clear_faults(network)

    def advance(self) -> PhaseChanges:
        """Advance the dataset one phase."""
        return self.state.advance()

    def requests(self, network: str | None = None) -> list[dict[str, Any]]:
        """The request log (auth redacted)."""
        return self.state.requests(network)

    def clear_requests(self) -> None:
        """Forget the request log."""
        self.state.clear_requests()

    def expected_totals(self, network: Network | str, account: int = 0) -> Totals:
        """Expected ledger totals of one account (0: the default one) for the current phase."""
        with self.state.lock:
            return self.state.dataset_for(account).expected_totals(network)

    def account(self, network: str, number: int) -> SandboxAccount:
        """Account `number` of a network (1..accounts; 0 is the default account)."""
        if not 0 <= number <= self.state.accounts:
            raise ValueError(f"the sandbox serves accounts 0..{self.state.accounts}")
        return sandbox_account(network, number)

    def account_env(self, name: str, network: str, number: int) -> dict[str, str]:
        """PASSIVE_<NAME>_* credentials making passive.toml's account `name` sandbox account
        `number` of `network` (the base URL comes from the network's variables, env())."""
        prefix = f"PASSIVE_{name.upper().replace('-', '_')}_"
        credentials = self.account(network, number).credentials()
        return {f"{prefix}{field.upper()}": value for field, value in credentials.items()}

    def reset(self) -> None:
        """Phase 0, no faults, empty log."""
        self.state.reset()

    @property
    def amazon(self) -> AmazonState:
        """The Creators API emulation: its reports, tokens and switches."""
        return amazon_state(self.state)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


@contextlib.contextmanager
def run_sandbox(
    dataset_or_seed: Dataset | int = 7,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    cj_page_size: int = 500,
    warm: bool = True,
    accounts: int = 0,
) -> Iterator[SandboxHandle]:
    """Serve the sandbox on `host:port` (0 = a free port) until the block exits; `accounts`
    further small accounts per network answer to their own credentials (SandboxAccount)."""
    dataset = dataset_or_seed if isinstance(dataset_or_seed, Dataset) else Dataset(dataset_or_seed)
    if warm:
        # Render the Impact JSON up front so timed pulls measure transport, not first renders.
        dataset.warm()
    state = SandboxState(dataset, cj_page_size=cj_page_size, accounts=accounts)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(state),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{url_host}:{bound_port}"
    try:
        _wait_until_up(base_url, thread)
        yield SandboxHandle(base_url, state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_until_up(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server thread exited during startup")
            try:
                if client.get(f"{base_url}/_sandbox/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise RuntimeError(f"the sandbox did not answer at {base_url} within {STARTUP_TIMEOUT}s")
