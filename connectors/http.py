"""The one shared HTTP layer: client factory, retries with backoff, rate limiting, typed errors."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Protocol, Self, TypeVar

import httpcore
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential_jitter

from connectors.errors import (
    REDACTED,
    ApiError,
    AuthError,
    ConnectorError,
    PaginationError,
    RequestTimeoutError,
    ResponseFormatError,
    ResponseTooLargeError,
    RetriableApiError,
    SettingsError,
    install_log_redaction,
    redact,
    register_basic_credentials,
    register_secret,
)

__all__ = [
    "ApiClient",
    "ApiError",
    "AuthError",
    "BearerAuth",
    "Clock",
    "ConnectorError",
    "CursorTracker",
    "Download",
    "FormBody",
    "ManualClock",
    "PaginationError",
    "RateLimit",
    "RedactedBasicAuth",
    "RequestLimits",
    "RequestTimeoutError",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "RetriableApiError",
    "RetryPolicy",
    "SettingsError",
    "SystemClock",
    "TokenBucket",
    "make_client",
    "parse_rate_limit_reset",
    "parse_retry_after",
    "redact",
    "same_origin",
    "shared_bucket",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

NETWORK_LABELS: dict[str, str] = {"impact": "impact.com", "awin": "Awin", "cj": "CJ"}
USER_AGENT = "passive-ledger/0.1 (+https://github.com/passive-ledger)"
# Defaults for a scheduled, unattended pull (README "How long a pull may take"). A request is
# one attempt: connect, send, headers and the whole body. The old defaults (5 tries of a 30 s
# read timeout, no overall limit) let a body that stalled after its headers hold a pull for
# 171 s, and a body trickling a byte every 2 s for ever.
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds to open the TCP (and TLS) connection
DEFAULT_READ_TIMEOUT = 20.0  # seconds without a single byte before a read counts as stalled
DEFAULT_REQUEST_DEADLINE = 120.0  # seconds for one attempt, however the bytes trickle in
DEFAULT_TIMEOUT_ATTEMPTS = 2  # tries of a request that stalled or ran out its deadline
DEFAULT_MAX_RESPONSE_MB = 64  # a 20,000-action impact.com page is ~17 MB in the sandbox
DEFAULT_MAX_PAGES = 1000  # pages per pull call: 20M impact.com actions at 20,000 a page
DEFAULT_TIMEOUT = httpx.Timeout(DEFAULT_READ_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
# Logger filters apply only to records logged on that exact logger, so name each one.
_REDACTED_LOGGERS = (
    "connectors.http",
    "connectors.impact",
    "connectors.awin",
    "connectors.cj",
    "connectors.payments",
    "connectors.stream",
    "flows.payments_pull",  # logs the payments connectors' errors
    "connectors.amazon.api",
    "httpx",
    "tenacity",
)
RETRIABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# A reset value this large cannot be "seconds from now" (it would be ~31 years), so it is an
# epoch timestamp (GitHub style). impact.com documents plain seconds (affiliate-formats.md §2).
_EPOCH_THRESHOLD = 1_000_000_000
_DOWNLOAD_CHUNK = 1 << 20
# A download's deadline grows with its announced size: the request deadline plus this many
# seconds per MiB (256 KiB/s), so a large report is not cut off yet a trickle still ends.
_DOWNLOAD_SECONDS_PER_MB = 4.0


class Clock(Protocol):
    """Time source for sleeping and rate limiting; tests pass a ManualClock."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (rate limiter arithmetic)."""
        ...

    def time(self) -> float:
        """Epoch seconds (to turn HTTP dates and epoch reset headers into delays)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for `seconds`."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Return time.monotonic()."""
        return time.monotonic()

    def time(self) -> float:
        """Return time.time()."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A deterministic clock: sleeping advances time instantly and is recorded."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the current fake time."""
        return self.now

    def time(self) -> float:
        """Return the current fake time (also used as epoch seconds)."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance the fake time."""
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


@dataclass(frozen=True)
class RateLimit:
    """`requests` per `per_seconds`, with up to `burst` requests sent back to back."""

    requests: int
    per_seconds: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0 or self.burst < 1:
            raise ValueError(f"invalid rate limit {self!r}")

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self.requests / self.per_seconds


class TokenBucket:
    """A thread-safe token bucket: a full bucket lets `burst` requests go at once."""

    def __init__(self, rate_limit: RateLimit, clock: Clock) -> None:
        self.rate_limit = rate_limit
        self._clock = clock
        self._capacity = float(rate_limit.burst)
        self._tokens = self._capacity
        self._last = clock.monotonic()
        self._paused_until = self._last
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping (via the clock) until it is due; return the wait.

        The token is reserved under the lock (the balance may go negative) and the caller
        sleeps off its own debt outside it, so concurrent callers queue in order.
        """
        with self._lock:
            now = self._clock.monotonic()
            self._refill(now)
            self._tokens -= 1.0
            debt = -self._tokens / self.rate_limit.rate if self._tokens < -1e-9 else 0.0
            wait = max(debt, self._paused_until - now, 0.0)
        if wait > 0:
            self._clock.sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (the server said its quota is spent)."""
        with self._lock:
            until = self._clock.monotonic() + max(seconds, 0.0)
            self._paused_until = max(self._paused_until, until)

    def _refill(self, now: float) -> None:
        elapsed = max(now - self._last, 0.0)
        self._tokens = min(self._capacity, self._tokens + elapsed * self.rate_limit.rate)
        self._last = now


_shared_buckets: dict[tuple[str, str, RateLimit], TokenBucket] = {}
_shared_lock = threading.Lock()


def shared_bucket(
    network: str, rate_limit: RateLimit, login: str = "", clock: Clock | None = None
) -> TokenBucket:
    """The process-wide bucket of a network's login, so concurrent pulls share one quota.

    The networks count requests per login (impact.com per Account SID, Awin per user token),
    not per account: the accounts of one Awin user pulled at once must queue on one bucket,
    while two impact.com SIDs each have their own 1,000 an hour. `clock` is used only when
    the bucket is made (tests pass a ManualClock and a login of their own).
    """
    with _shared_lock:
        key = (network, login, rate_limit)
        if key not in _shared_buckets:
            _shared_buckets[key] = TokenBucket(rate_limit, clock or SystemClock())
        return _shared_buckets[key]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429, 5xx and connection/read errors.

    A request that stalled or ran out its deadline is tried at most `timeout_attempts` times
    (within `max_attempts`): a server that hangs once usually hangs again, and every try costs
    up to a whole deadline.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    max_server_wait: float = 900.0  # a Retry-After longer than this fails instead of blocking
    timeout_attempts: int = DEFAULT_TIMEOUT_ATTEMPTS


@dataclass(frozen=True)
class RequestLimits:
    """Bounds on one request and one pull, so a hostile or broken server cannot hold a pull
    for ever or fill the memory: a deadline per attempt, a body size cap, a page ceiling."""

    deadline: float = DEFAULT_REQUEST_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_MB * 2**20
    max_pages: int = DEFAULT_MAX_PAGES

    def __post_init__(self) -> None:
        if self.deadline <= 0 or self.max_response_bytes < 1 or self.max_pages < 1:
            raise ValueError(f"invalid request limits {self!r}")


class _Deadline:
    """The moment one request attempt must be over; records whether it cut a wait short."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.hit = False

    def clamp(self, timeout: float | None, error: type[httpcore.TimeoutException]) -> float:
        """`timeout` shortened to what is left of the deadline; `error` once none is left."""
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            self.hit = True
            raise error(f"the request's {self.seconds:g} s deadline passed")
        if timeout is None or remaining < timeout:
            self.hit = True
            return remaining
        return timeout

    def check(self) -> None:
        """Raise httpx.ReadTimeout if the deadline has passed (between body chunks)."""
        if time.monotonic() >= self.at:
            self.hit = True
            raise httpx.ReadTimeout(f"the request's {self.seconds:g} s deadline passed")


# The deadline of the attempt running in this thread (or task); the sockets below read it.
_DEADLINE: ContextVar[_Deadline | None] = ContextVar("passive_http_deadline", default=None)


def _clamped(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    deadline = _DEADLINE.get()
    return timeout if deadline is None else deadline.clamp(timeout, error)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most until the attempt's deadline.

    httpx's timeouts apply to each read alone, so a body trickling one byte at a time never
    trips them; clamping each wait to the time left bounds the whole attempt, headers included.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read with the wait clamped to the deadline."""
        return self._inner.read(max_bytes, _clamped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write with the wait clamped to the deadline."""
        self._inner.write(buffer, _clamped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the socket."""
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """TLS over this stream, still bound by the deadline."""
        wait = _clamped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        """What the pool asks of the socket (is it readable, its address)."""
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sync backend, with every stream bound by the attempt's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect, waiting at most until the deadline."""
        wait = _clamped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.connect_tcp(host, port, wait, local_address, socket_options)
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to a Unix socket, waiting at most until the deadline."""
        wait = _clamped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's connect retries)."""
        self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's roots), made once per process and shared by every
    client: loading the roots costs ~75 ms, twice per client, and a many-account pull makes a
    client per request window (bench accounts: a third of a small account's pull)."""
    return httpx.create_ssl_context()


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's default transport, over a connection pool built on _DeadlineBackend."""

    def __init__(self) -> None:
        super().__init__(verify=_ssl_context())
        # httpx offers no network-backend option, so its pool is rebuilt with the same
        # defaults as httpx.Client's (httpx.Limits) plus the backend; httpcore documents both.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )


class FormBody(dict[str, str]):
    """A request body sent form-encoded rather than as JSON (see ApiClient.post_form)."""


@dataclass(frozen=True)
class Download:
    """A file fetched by ApiClient.download: where it is, its size and its md5 (hex)."""

    path: Path
    size: int
    md5: str


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` (Awin, CJ); the token never shows in repr."""

    def __init__(self, token: str) -> None:
        self._token = token
        register_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the bearer header."""
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth(token={REDACTED!r})"


class RedactedBasicAuth(httpx.BasicAuth):
    """httpx.BasicAuth that registers its secrets for redaction and hides them in repr."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        register_basic_credentials(username, password)

    def __repr__(self) -> str:
        return f"RedactedBasicAuth(password={REDACTED!r})"


class CursorTracker:
    """Remembers every pagination cursor of one paging run; a repeat is a PaginationError."""

    def __init__(self, network: str, what: str) -> None:
        self._network = network
        self._what = what
        self._seen: set[str] = set()

    def advance(self, cursor: str) -> str:
        """Accept a new cursor, or raise if the API handed it out before."""
        if cursor in self._seen:
            raise PaginationError(
                f"{_label(self._network)}: {self._what} {cursor!r} repeated after "
                f"{len(self._seen)} pages; refusing to loop",
                network=self._network,
            )
        self._seen.add(cursor)
        return cursor


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def parse_rate_limit_reset(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from X-RateLimit-Reset: seconds-until, or epoch seconds if huge."""
    if value is None or not value.strip():
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number >= _EPOCH_THRESHOLD:
        return max(number - now, 0.0)
    return max(number, 0.0)


def _label(network: str) -> str:
    return NETWORK_LABELS.get(network, network)


class _AttemptBudget(stop_base):
    """Stop at `max_attempts` tries, or sooner once `timeout_attempts` of them timed out."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._timeouts = 0

    def __call__(self, retry_state: RetryCallState) -> bool:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, RequestTimeoutError):
            self._timeouts += 1
        return (
            retry_state.attempt_number >= self._policy.max_attempts
            or self._timeouts >= self._policy.timeout_attempts
        )


class _ServerAwareWait(wait_base):
    """Wait what the server asked for (plus jitter); else tenacity's exponential jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._fallback = wait_exponential_jitter(
            initial=policy.initial_backoff, max=policy.max_backoff, jitter=policy.jitter
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, float | int):
            # Jitter on top of the server's hint so parallel clients do not return in lockstep.
            return float(hint) + random.uniform(0.0, self._policy.jitter)
        return float(self._fallback(retry_state))


class ApiClient:
    """One httpx.Client plus the policy around it: limiter, retries, JSON decoding, redaction."""

    def __init__(
        self,
        *,
        network: str,
        http: httpx.Client,
        limiter: TokenBucket,
        retry: RetryPolicy,
        clock: Clock,
        credential_settings: tuple[str, ...],
        limits: RequestLimits | None = None,
    ) -> None:
        self.network = network
        self.label = _label(network)
        self.http = http
        self.limiter = limiter
        self.retry = retry
        self.clock = clock
        self.credential_settings = credential_settings
        self.limits = limits or RequestLimits()
        self.pages_requested = 0

    def __repr__(self) -> str:
        return f"ApiClient(network={self.network!r}, base_url={str(self.http.base_url)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying httpx.Client."""
        self.http.close()

    def get_json(
        self, url: str, *, params: Mapping[str, str | int] | None = None, page: int | None = None
    ) -> Any:
        """GET `url` (relative to the base URL) and return its JSON, numbers as Decimal."""
        return self.request_json("GET", url, params=params, page=page)

    def get_response(
        self, url: str, *, params: Mapping[str, str | int] | None = None, page: int | None = None
    ) -> httpx.Response:
        """GET with rate limiting and retries, undecoded: for callers that validate the bytes
        in one pass (decode_json gives the usual JSON and errors when they cannot)."""
        return self._send_with_retries("GET", url, params, None, page)

    def decode_json(self, response: httpx.Response, *, page: int | None = None) -> Any:
        """A response's JSON with numbers as Decimal, as get_json returns it."""
        return self._decode(response, page)

    def post_json(self, url: str, *, body: Any, page: int | None = None) -> Any:
        """POST a JSON body and return the JSON answer, numbers as Decimal."""
        return self.request_json("POST", url, body=body, page=page)

    def post_form(self, url: str, *, data: Mapping[str, str]) -> Any:
        """POST an `application/x-www-form-urlencoded` body (OAuth2 token endpoints) for JSON."""
        return self.request_json("POST", url, body=FormBody(data))

    def download(self, url: str, target: Path, *, expected_size: int | None = None) -> Download:
        """GET `url` (absolute, e.g. a pre-signed URL) streamed into `target`, with the limiter
        and retries of every request; each attempt rewrites the file. Returns its size and md5.

        With `expected_size`, a body that runs past it is refused as it arrives and the
        attempt's deadline grows with it. The client's own auth is sent as on any request:
        download with a client made without one when the URL carries its own signature.
        """
        return self._with_retries(self._download_once, url, target, expected_size)

    def _download_once(self, url: str, target: Path, expected_size: int | None) -> Download:
        self.limiter.acquire()
        where = self._where("GET", url, None)
        seconds = self.limits.deadline + (expected_size or 0) / 2**20 * _DOWNLOAD_SECONDS_PER_MB
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with self._attempt(where, seconds) as deadline, self.http.stream("GET", url) as response:
            if not 200 <= response.status_code < 300:
                response.read()
                self._raise_for_status(response, where)
            with target.open("wb") as out:
                for chunk in response.iter_bytes(_DOWNLOAD_CHUNK):
                    size += len(chunk)
                    if expected_size is not None and size > expected_size:
                        raise self._too_large(response, None, f"it passed {expected_size:,} bytes")
                    out.write(chunk)
                    digest.update(chunk)
                    deadline.check()
        log.debug("%s: %s -> %d bytes", self.label, where, size)
        return Download(target, size, digest.hexdigest())

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        page: int | None = None,
    ) -> Any:
        """Send with rate limiting and retries; decode JSON with parse_float=Decimal."""
        response = self._send_with_retries(method, url, params, body, page)
        return self._decode(response, page)

    def _send_with_retries(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        body: Any,
        page: int | None,
    ) -> httpx.Response:
        if page is not None:
            self._count_page(url, page)
        return self._with_retries(self._send_once, method, url, params, body, page)

    def _with_retries(self, attempt: Callable[..., _T], *args: Any) -> _T:
        """Call `attempt(*args)` under the retry policy (429, 5xx, connection errors)."""
        policy = self.retry
        retrying = Retrying(
            sleep=self.clock.sleep,
            stop=_AttemptBudget(policy),
            wait=_ServerAwareWait(policy),
            retry=retry_if_exception(lambda e: self._should_retry(e)),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt, *args)
        except RetriableApiError as exc:
            attempts = retrying.statistics.get("attempt_number", policy.max_attempts)
            raise type(exc)(
                f"{exc.message}; gave up after {attempts} attempt{'s' if attempts != 1 else ''}",
                network=self.network,
                status_code=exc.status_code,
                url=exc.url,
                retry_after=exc.retry_after,
            ) from None

    def _count_page(self, url: str, page: int) -> None:
        # A server that hands out fresh next-page links for ever would otherwise keep a pull
        # going until the quota or the disk runs out (CursorTracker only catches repeats).
        self.pages_requested += 1
        if self.pages_requested > self.limits.max_pages:
            raise PaginationError(
                f"{self.label}: the API still offered more pages after {self.limits.max_pages} "
                f"in one pull (next: {self._where('GET', url, page)}); refusing to go on. "
                f"If the account really has that many, raise "
                f"PASSIVE_{self.network.upper()}_MAX_PAGES",
                network=self.network,
            )

    def _should_retry(self, error: BaseException) -> bool:
        if not isinstance(error, RetriableApiError):
            return False
        return error.retry_after is None or error.retry_after <= self.retry.max_server_wait

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: attempt %d failed (%s); retrying in %.2f s",
            self.label,
            state.attempt_number,
            redact(str(error)),
            wait,
        )

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        body: Any,
        page: int | None,
    ) -> httpx.Response:
        self.limiter.acquire()
        where = self._where(method, url, page)
        with self._attempt(where, self.limits.deadline) as deadline:
            if isinstance(body, FormBody):
                request = self.http.build_request(method, url, params=params, data=dict(body))
            else:
                request = self.http.build_request(method, url, params=params, json=body)
            streamed = self.http.send(request, stream=True)
            try:
                response = self._read_capped(streamed, page, deadline)
            finally:
                streamed.close()
        where = self._where(method, str(response.request.url), page)
        self._note_quota(response)
        status = response.status_code
        log.debug("%s: %s -> %d", self.label, where, status)
        if 200 <= status < 300:
            return response
        self._raise_for_status(response, where)

    @contextlib.contextmanager
    def _attempt(self, where: str, seconds: float) -> Iterator[_Deadline]:
        """One attempt under its deadline, httpx's failures turned into our typed errors."""
        deadline = _Deadline(seconds)
        token = _DEADLINE.set(deadline)
        try:
            yield deadline
        except httpx.TimeoutException as exc:
            # `from None`: httpx's own exception may hold the request, headers included.
            if deadline.hit:
                raise RequestTimeoutError(
                    f"{self.label}: no complete answer to {where} within the request deadline "
                    f"of {seconds:g} s "
                    f"(PASSIVE_{self.network.upper()}_REQUEST_DEADLINE_SECONDS)",
                    network=self.network,
                ) from None
            raise RequestTimeoutError(
                f"{self.label}: {type(exc).__name__} on {where}: {self._stalled(exc)}",
                network=self.network,
            ) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise RetriableApiError(
                f"{self.label}: {type(exc).__name__} on {where}: {exc}", network=self.network
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(
                f"{self.label}: {type(exc).__name__} on {where}: {exc}", network=self.network
            ) from None
        finally:
            _DEADLINE.reset(token)

    def _raise_for_status(self, response: httpx.Response, where: str) -> NoReturn:
        """The typed error for a non-2xx answer (its body already read)."""
        status = response.status_code
        detail = _error_detail(response)
        if status in (401, 403):
            settings = " and ".join(self.credential_settings) or "the credentials"
            raise AuthError(
                f"{self.label} rejected the credentials ({status}): check {settings}"
                + (f" ({detail})" if detail else ""),
                network=self.network,
                status_code=status,
                url=str(response.request.url),
            )
        if status in RETRIABLE_STATUSES or status >= 500:
            hint = self._retry_hint(response)
            raise RetriableApiError(
                f"{self.label} returned {status} for {where}" + (f": {detail}" if detail else ""),
                network=self.network,
                status_code=status,
                url=str(response.request.url),
                retry_after=hint,
            )
        raise ApiError(
            f"{self.label} returned {status} for {where}" + (f": {detail}" if detail else ""),
            network=self.network,
            status_code=status,
            url=str(response.request.url),
        )

    def _stalled(self, error: httpx.TimeoutException) -> str:
        setting = f"PASSIVE_{self.network.upper()}_TIMEOUT_SECONDS"
        timeout = self.http.timeout
        if isinstance(error, httpx.ConnectTimeout):
            return f"no connection within {timeout.connect:g} s"
        if isinstance(error, httpx.ReadTimeout):
            return f"the server sent nothing for {timeout.read:g} s ({setting})"
        if isinstance(error, httpx.WriteTimeout):
            return f"the server took nothing for {timeout.write:g} s ({setting})"
        return str(error) or "timed out"

    def _read_capped(
        self, response: httpx.Response, page: int | None, deadline: _Deadline
    ) -> httpx.Response:
        """Read a streamed answer up to the size cap and the deadline; return it read."""
        limit = self.limits.max_response_bytes
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(response, page, f"it announces {int(declared):,} bytes")
        body = bytearray()
        # Decoded bytes are counted, so a small gzip body that inflates without end is refused.
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise self._too_large(response, page, f"it passed {limit:,} bytes")
            deadline.check()
        # The body is decoded already: drop Content-Encoding so httpx does not decode it again.
        headers = [
            (key, value)
            for key, value in response.headers.multi_items()
            if key.lower() != "content-encoding"
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=bytes(body),
            request=response.request,
            extensions=response.extensions,
        )

    def _too_large(self, response: httpx.Response, page: int | None, what: str) -> ApiError:
        where = self._where(response.request.method, str(response.request.url), page)
        limit_mb = self.limits.max_response_bytes / 2**20
        return ResponseTooLargeError(
            f"{self.label}: the answer to {where} is larger than the {limit_mb:g} MB cap "
            f"({what}); refused. Ask for smaller pages or windows, or raise "
            f"PASSIVE_{self.network.upper()}_MAX_RESPONSE_MB",
            network=self.network,
            status_code=response.status_code,
            url=str(response.request.url),
        )

    def _retry_hint(self, response: httpx.Response) -> float | None:
        now = self.clock.time()
        hint = parse_retry_after(response.headers.get("Retry-After"), now=now)
        if hint is None:
            hint = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"), now=now)
        return hint

    def _note_quota(self, response: httpx.Response) -> None:
        # impact.com reports X-RateLimit-Remaining/-Reset on every answer and has no
        # Retry-After (affiliate-formats.md §2): when the quota is spent, hold the bucket.
        if response.headers.get("X-RateLimit-Remaining", "").strip() != "0":
            return
        wait = parse_rate_limit_reset(
            response.headers.get("X-RateLimit-Reset"), now=self.clock.time()
        )
        if wait and response.status_code < 300:
            self.limiter.pause(min(wait, self.retry.max_server_wait))

    def _decode(self, response: httpx.Response, page: int | None) -> Any:
        where = self._where(response.request.method, str(response.request.url), page)
        try:
            return json.loads(response.content, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            size = len(response.content)
            raise ResponseFormatError(
                f"{self.label}: malformed or truncated JSON in the answer to {where} "
                f"({exc.msg} at byte {exc.pos} of {size})",
                network=self.network,
            ) from None
        except UnicodeDecodeError as exc:
            raise ResponseFormatError(
                f"{self.label}: the answer to {where} is not UTF-8 JSON ({exc.reason})",
                network=self.network,
            ) from None

    def _where(self, method: str, url: str, page: int | None) -> str:
        text = f"{method} {redact(url)}"
        return f"{text} (page {page})" if page is not None else text


def _error_detail(response: httpx.Response) -> str:
    """The API's own error message, if the body carries one (Impact, Awin, CJ shapes)."""
    try:
        body = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return redact(response.text[:200].strip()) if response.content else ""
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("Message", "message", "error", "description", "detail"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
        errors = body.get("errors") or body.get("Errors")
        if isinstance(errors, list):
            for item in errors[:5]:
                if isinstance(item, dict):
                    parts.append(str(item.get("message") or item.get("Message") or item))
    return redact("; ".join(parts)[:500])


def make_client(
    *,
    network: str,
    base_url: str,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    rate_limit: RateLimit,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    secrets: Iterable[str] = (),
    credential_settings: Iterable[str] = (),
    clock: Clock | None = None,
    limiter: TokenBucket | None = None,
    transport: httpx.BaseTransport | None = None,
    limits: RequestLimits | None = None,
    login: str = "",
) -> ApiClient:
    """Build the one kind of client every connector uses.

    Args:
        network: registry key ("impact", "awin", "cj"); used in messages and for the bucket.
        base_url: scheme and host (and port); connectors pass paths relative to it.
        auth: an httpx.Auth (BasicAuth, BearerAuth); never put credentials in headers.
        headers: extra default headers (`Accept: application/json` and a User-Agent are set).
        rate_limit: the client-side quota; with the real clock it is shared per login.
        timeout: seconds or an httpx.Timeout: how long one read, write or connect may wait.
        retry: attempts and backoff for 429, 5xx and connection/read errors.
        secrets: values to scrub from every message and log line.
        credential_settings: env var names an AuthError tells the user to check.
        clock: time source; tests pass a ManualClock so nothing really sleeps.
        limiter: an explicit bucket (else shared per network, or fresh for a test clock).
        transport: an httpx transport (httpx.MockTransport in unit tests); by default httpx's
            own, with every socket wait clamped to the request deadline.
        limits: the request deadline, the response size cap and the page ceiling.
        login: whose quota the requests spend (NetworkSettings.login_key): clients of one
            login share a bucket, clients of different logins do not.
    """
    register_secret(*secrets)
    install_log_redaction(*_REDACTED_LOGGERS)
    clock = clock or SystemClock()
    if limiter is None:
        limiter = (
            shared_bucket(network, rate_limit, login)
            if isinstance(clock, SystemClock)
            else TokenBucket(rate_limit, clock)
        )
    default_headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    default_headers.update(headers or {})
    http = httpx.Client(
        base_url=base_url,
        auth=auth,
        headers=default_headers,
        timeout=timeout,
        transport=transport if transport is not None else _DeadlineTransport(),
        follow_redirects=False,
    )
    return ApiClient(
        network=network,
        http=http,
        limiter=limiter,
        retry=retry or RetryPolicy(),
        clock=clock,
        credential_settings=tuple(credential_settings),
        limits=limits,
    )


def same_origin(client: ApiClient, url: str) -> bool:
    """True when `url` is relative or points at the client's own scheme, host and port."""
    target = httpx.URL(url)
    if not target.is_absolute_url:
        return True
    base = client.http.base_url
    return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
