"""Shared sandbox state (dataset, faults, request log) and the demo credentials."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal

from fastapi import Request, Response

from sandbox.dataset import AWIN_PUBLISHER_ID, CJ_PUBLISHER_ID, IMPACT_SID, Dataset, PhaseChanges
from sandbox.ecb import EcbRates

# Fixed demo credentials: the sandbox is loopback-only test infrastructure, never a secret store.
SANDBOX_IMPACT_SID = IMPACT_SID
SANDBOX_IMPACT_TOKEN = "sandbox-impact-auth-token"
SANDBOX_AWIN_TOKEN = "sandbox-awin-oauth2-token"
SANDBOX_AWIN_PUBLISHER_ID = str(AWIN_PUBLISHER_ID)
SANDBOX_CJ_TOKEN = "sandbox-cj-personal-access-token"
SANDBOX_CJ_PUBLISHER_ID = CJ_PUBLISHER_ID
# Further accounts (named accounts, issue 16): impact.com account k has SID IRsAndbOxAcct<k>
# and its own token (one login each); Awin and CJ account k is publisher id base + k under
# the one user token (a user reaches several publisher accounts, and spends one quota).
IMPACT_ACCOUNT_SID_PREFIX = "IRsAndbOxAcct"
DEFAULT_ACCOUNT_SIZES = (12, 10, 10)  # impact actions, Awin transactions, CJ commissions


@dataclass(frozen=True)
class SandboxAccount:
    """The credentials of one sandbox account: number 0 is the default one."""

    network: str
    number: int
    login: str  # impact: Account SID; awin, cj: publisher id
    token: str

    def credentials(self) -> dict[str, str]:
        """The account's credential settings, by settings field."""
        if self.network == "impact":
            return {"account_sid": self.login, "auth_token": self.token}
        return {"publisher_id": self.login, "token": self.token}


def sandbox_account(network: str, number: int) -> SandboxAccount:
    """Account `number` of a network (0: the default account of sandbox.server.env)."""
    if network == "impact":
        if number == 0:
            return SandboxAccount(network, 0, SANDBOX_IMPACT_SID, SANDBOX_IMPACT_TOKEN)
        return SandboxAccount(
            network, number, f"{IMPACT_ACCOUNT_SID_PREFIX}{number}", f"sandbox-impact-{number}"
        )
    if network == "awin":
        return SandboxAccount(network, number, str(AWIN_PUBLISHER_ID + number), SANDBOX_AWIN_TOKEN)
    if network == "cj":
        return SandboxAccount(network, number, str(int(CJ_PUBLISHER_ID) + number), SANDBOX_CJ_TOKEN)
    raise ValueError(f"the sandbox has no accounts of {network!r}")


FaultKind = Literal[
    "429", "429_date", "500", "slow", "truncated_json", "403", "md5_mismatch", "expire_token"
]
# 429_date: Retry-After as an HTTP date. The last three are the Creators API's: the access gate
# closes (403), a download's bytes differ from its md5, the bearer token expires mid-run.
FAULT_KINDS: frozenset[str] = frozenset(
    {"429", "429_date", "500", "slow", "truncated_json", "403", "md5_mismatch", "expire_token"}
)
FAULT_NETWORKS: frozenset[str] = frozenset(
    {"impact", "awin", "cj", "amazon", "amazon-token", "amazon-download", "all"}
)
REDACTED = "***"

# Query parameters that carry secrets; the request log never shows their values.
_SECRET_PARAMS = frozenset({"accesstoken", "access_token", "token", "authtoken"})


@dataclass
class Fault:
    """A fault armed for the next `remaining` requests to one network's data endpoint."""

    network: str
    kind: str
    remaining: int
    retry_after: int = 1
    delay: float = 1.0

    def as_json(self) -> dict[str, Any]:
        """The fault as the admin endpoint shows it."""
        return {
            "network": self.network,
            "kind": self.kind,
            "count": self.remaining,
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


class SandboxState:
    """Everything the sandbox app mutates, behind one lock (tests call in from other threads)."""

    def __init__(
        self,
        dataset: Dataset,
        clock: Callable[[], datetime] | None = None,
        cj_page_size: int = 500,
        accounts: int = 0,
        account_sizes: tuple[int, int, int] = DEFAULT_ACCOUNT_SIZES,
    ) -> None:
        self.dataset = dataset
        # Accounts 1..accounts of every network, each its own small seeded dataset, made on
        # first use (a bench of 1,000 accounts builds only those it pulls).
        self.accounts = accounts
        self.account_sizes = account_sizes
        self._account_data: dict[int, Dataset] = {}
        self.ecb = EcbRates(dataset.seed)
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.cj_page_size = cj_page_size
        self._faults: list[Fault] = []
        self._log: list[dict[str, Any]] = []
        # The hour each Account SID's quota counts in: (start, calls). Per SID, as impact.com
        # counts it: one account's pulls never spend another's 1,000 (named accounts).
        self._impact_windows: dict[str, tuple[float, int]] = {}
        self._reset_payments()

    def _reset_payments(self) -> None:
        # Payments endpoints (sandbox/networks/payments.py): impact.com's WithdrawalSettings
        # answer, and whether the Awin token's user holds the Full Access role (else 403).
        self.impact_withdrawal: dict[str, Any] = {
            "PaymentSchedulingType": "FIXED_DAY",
            "PaymentDay": "15",
            "PaymentThreshold": "",
        }
        self.awin_full_access = True

    # -- accounts ---------------------------------------------------------------------------

    def account_number(self, network: str, login: str) -> int | None:
        """Which account a login (SID, publisher id) is, or None if the sandbox has no such."""
        for number in self._candidates(network, login):
            if 0 <= number <= self.accounts and sandbox_account(network, number).login == login:
                return number
        return None

    @staticmethod
    def _candidates(network: str, login: str) -> list[int]:
        if network == "impact":
            if login == SANDBOX_IMPACT_SID:
                return [0]
            tail = login.removeprefix(IMPACT_ACCOUNT_SID_PREFIX)
            return [int(tail)] if tail != login and tail.isdigit() else []
        base = AWIN_PUBLISHER_ID if network == "awin" else int(CJ_PUBLISHER_ID)
        return [int(login) - base] if login.isdigit() else []

    def dataset_for(self, number: int) -> Dataset:
        """The records of account `number` (0: the default dataset)."""
        if number == 0:
            return self.dataset
        with self.lock:
            found = self._account_data.get(number)
            if found is None:
                impact, awin, cj = self.account_sizes
                found = Dataset(
                    self.dataset.seed * 100_003 + number,
                    impact_actions=impact,
                    awin_transactions=awin,
                    cj_commissions=cj,
                    start=self.dataset.start,
                    end=self.dataset.end,
                )
                self._account_data[number] = found
            return found

    # -- faults -----------------------------------------------------------------------------

    def set_fault(
        self,
        network: str,
        kind: str,
        count: int = 1,
        retry_after: int = 1,
        delay: float = 1.0,
    ) -> None:
        """Arm a fault for the next `count` requests to `network` ("all" = any network)."""
        if network not in FAULT_NETWORKS:
            raise ValueError(
                f"unknown network {network!r}; expected one of {sorted(FAULT_NETWORKS)}"
            )
        if kind == "reset":
            self.clear_faults(None if network == "all" else network)
            return
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self.lock:
            self._faults.append(Fault(network, kind, count, max(0, retry_after), max(0.0, delay)))

    def clear_faults(self, network: str | None = None) -> None:
        """Disarm every fault, or those of one network."""
        with self.lock:
            self._faults = [f for f in self._faults if network is not None and f.network != network]

    def faults(self) -> list[dict[str, Any]]:
        """The armed faults, oldest first."""
        with self.lock:
            return [f.as_json() for f in self._faults]

    def take_fault(self, network: str) -> Fault | None:
        """Consume one use of the oldest fault armed for `network` (or for all networks)."""
        with self.lock:
            for fault in self._faults:
                if fault.network in (network, "all"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- request log --------------------------------------------------------------------------

    def log_request(self, network: str, request: Request) -> dict[str, Any]:
        """Append a log entry for a network request (secrets redacted) and return it."""
        query: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            query[key] = REDACTED if key.lower() in _SECRET_PARAMS else value
        entry: dict[str, Any] = {
            "seq": 0,
            "network": network,
            "method": request.method,
            "path": request.url.path,
            "query": query,
            "authorization": REDACTED if "authorization" in request.headers else None,
            "status": None,
            "fault": None,
        }
        with self.lock:
            entry["seq"] = len(self._log) + 1
            self._log.append(entry)
        return entry

    def requests(self, network: str | None = None) -> list[dict[str, Any]]:
        """Copies of the logged requests, optionally for one network."""
        with self.lock:
            return [dict(e) for e in self._log if network is None or e["network"] == network]

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self.lock:
            self._log.clear()

    # -- Impact rate-limit headers ---------------------------------------------------------------

    def impact_rate_headers(self, account_sid: str = "") -> dict[str, str]:
        """X-RateLimit-* headers for a 1,000 requests/hour account (reference §2, not enforced),
        counted per Account SID."""
        limit, window = 1000, 3600.0
        with self.lock:
            now = time.monotonic()
            start, calls = self._impact_windows.get(account_sid, (now, 0))
            if now - start >= window:
                start, calls = now, 0
            calls += 1
            self._impact_windows[account_sid] = (start, calls)
            remaining = max(0, limit - calls)
            reset = int(window - (now - start))
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }

    # -- phases -------------------------------------------------------------------------------

    def advance(self) -> PhaseChanges:
        """Advance the dataset one phase and pre-render what changed."""
        with self.lock:
            changes = self.dataset.advance()
            self.dataset.warm()
            return changes

    def reset(self) -> None:
        """Back to phase 0 with no faults and an empty request log."""
        with self.lock:
            self.dataset.reset()
            self.dataset.warm()
            self._account_data.clear()
            self._faults.clear()
            self._log.clear()
            self._reset_payments()
            amazon = getattr(self, "amazon", None)
            if amazon is not None:
                amazon.reset()


def _fault_response(network: str, fault: Fault) -> Response:
    if fault.kind == "429_date":
        when = datetime.now(UTC) + timedelta(seconds=fault.retry_after)
        headers = {"Retry-After": format_datetime(when, usegmt=True)}
        body = _error_body(network, 429, "Too many requests: rate limit exceeded")
        return Response(body, status_code=429, headers=headers, media_type="application/json")
    if fault.kind == "429":
        headers = {
            "Retry-After": str(fault.retry_after),
            "X-RateLimit-Reset": str(fault.retry_after),
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "0",
        }
        body = _error_body(network, 429, "Too many requests: rate limit exceeded")
        return Response(body, status_code=429, headers=headers, media_type="application/json")
    body = _error_body(network, 500, "Internal server error")
    return Response(body, status_code=500, media_type="application/json")


def _error_body(network: str, status: int, message: str) -> str:
    if network == "impact":
        # impact.com error shape (reference §2).
        return json.dumps({"Status": "ERROR", "Message": message})
    if network == "cj":
        return json.dumps({"errors": [{"message": message}]})
    return json.dumps({"error": str(status), "description": message})


def _truncate(response: Response) -> Response:
    body = bytes(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        body[: max(1, len(body) // 2)], status_code=response.status_code, headers=headers
    )


async def serve(
    state: SandboxState,
    network: str,
    request: Request,
    build: Callable[[dict[str, Any]], Response],
    annotate: Callable[[dict[str, Any]], None] | None = None,
) -> Response:
    """Log the request, apply any armed fault, and otherwise answer with `build(log_entry)`.

    `annotate` adds to the log entry before any fault fires (CJ logs its GraphQL arguments,
    so window checks on the log also see requests that were answered with a fault).
    """
    entry = state.log_request(network, request)
    if annotate is not None:
        annotate(entry)
    fault = state.take_fault(network)
    if fault is not None:
        entry["fault"] = fault.kind
        if fault.kind in ("429", "429_date", "500"):
            response = _fault_response(network, fault)
            entry["status"] = response.status_code
            return response
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
    with state.lock:
        response = build(entry)
    if fault is not None and fault.kind == "truncated_json":
        # The status and headers are fine but the JSON body stops half-way.
        response = _truncate(response)
    entry["status"] = response.status_code
    return response
