"""The one shared HTTP layer: client factory, retries with backoff, rate limiting, typed errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Protocol, Self, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from connectors.errors import (
    REDACTED,
    ApiError,
    AuthError,
    ConnectorError,
    PaginationError,
    ResponseFormatError,
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
    "ResponseFormatError",
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
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Logger filters apply only to records logged on that exact logger, so name each one.
_REDACTED_LOGGERS = (
    "connectors.http",
    "connectors.impact",
    "connectors.awin",
    "connectors.cj",
    "connectors.amazon.api",
    "httpx",
    "tenacity",
)
RETRIABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# A reset value this large cannot be "seconds from now" (it would be ~31 years), so it is an
# epoch timestamp (GitHub style). impact.com documents plain seconds (affiliate-formats.md §2).
_EPOCH_THRESHOLD = 1_000_000_000
_DOWNLOAD_CHUNK = 1 << 20


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


_shared_buckets: dict[tuple[str, RateLimit], TokenBucket] = {}
_shared_lock = threading.Lock()


def shared_bucket(network: str, rate_limit: RateLimit) -> TokenBucket:
    """The process-wide bucket for a network, so concurrent pulls share one quota."""
    with _shared_lock:
        key = (network, rate_limit)
        if key not in _shared_buckets:
            _shared_buckets[key] = TokenBucket(rate_limit, SystemClock())
        return _shared_buckets[key]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429, 5xx and connection/read errors."""

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    max_server_wait: float = 900.0  # a Retry-After longer than this fails instead of blocking


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
    ) -> None:
        self.network = network
        self.label = _label(network)
        self.http = http
        self.limiter = limiter
        self.retry = retry
        self.clock = clock
        self.credential_settings = credential_settings

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

    def download(self, url: str, target: Path) -> Download:
        """GET `url` (absolute, e.g. a pre-signed URL) streamed into `target`, with the limiter
        and retries of every request; each attempt rewrites the file. Returns its size and md5.

        The client's own auth is sent like on any request: download with a client made
        without one when the URL carries its own signature.
        """
        return self._with_retries(self._download_once, url, target)

    def _download_once(self, url: str, target: Path) -> Download:
        self.limiter.acquire()
        where = self._where("GET", url, None)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with self._transport_errors(where), self.http.stream("GET", url) as response:
            if not 200 <= response.status_code < 300:
                response.read()
                self._raise_for_status(response, where)
            with target.open("wb") as out:
                for chunk in response.iter_bytes(_DOWNLOAD_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
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
        return self._with_retries(self._send_once, method, url, params, body, page)

    def _with_retries(self, attempt: Callable[..., _T], *args: Any) -> _T:
        """Call `attempt(*args)` under the retry policy (429, 5xx, connection errors)."""
        policy = self.retry
        retrying = Retrying(
            sleep=self.clock.sleep,
            stop=stop_after_attempt(policy.max_attempts),
            wait=_ServerAwareWait(policy),
            retry=retry_if_exception(lambda e: self._should_retry(e)),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt, *args)
        except RetriableApiError as exc:
            raise RetriableApiError(
                f"{exc.message}; gave up after {policy.max_attempts} attempts",
                network=self.network,
                status_code=exc.status_code,
                url=exc.url,
                retry_after=exc.retry_after,
            ) from None

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
        with self._transport_errors(where):
            if isinstance(body, FormBody):
                response = self.http.request(method, url, params=params, data=dict(body))
            else:
                response = self.http.request(method, url, params=params, json=body)
        where = self._where(method, str(response.request.url), page)
        self._note_quota(response)
        status = response.status_code
        log.debug("%s: %s -> %d", self.label, where, status)
        if 200 <= status < 300:
            return response
        self._raise_for_status(response, where)

    @contextlib.contextmanager
    def _transport_errors(self, where: str) -> Iterator[None]:
        """httpx's transport failures as our typed errors (connection and read ones retriable)."""
        try:
            yield
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # `from None`: httpx's own exception may hold the request, headers included.
            raise RetriableApiError(
                f"{self.label}: {type(exc).__name__} on {where}: {exc}", network=self.network
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(
                f"{self.label}: {type(exc).__name__} on {where}: {exc}", network=self.network
            ) from None

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
) -> ApiClient:
    """Build the one kind of client every connector uses.

    Args:
        network: registry key ("impact", "awin", "cj"); used in messages and for the bucket.
        base_url: scheme and host (and port); connectors pass paths relative to it.
        auth: an httpx.Auth (BasicAuth, BearerAuth); never put credentials in headers.
        headers: extra default headers (`Accept: application/json` and a User-Agent are set).
        rate_limit: the client-side quota; with the real clock it is shared per network.
        timeout: seconds or an httpx.Timeout.
        retry: attempts and backoff for 429, 5xx and connection/read errors.
        secrets: values to scrub from every message and log line.
        credential_settings: env var names an AuthError tells the user to check.
        clock: time source; tests pass a ManualClock so nothing really sleeps.
        limiter: an explicit bucket (else shared per network, or fresh for a test clock).
        transport: an httpx transport (httpx.MockTransport in unit tests).
    """
    register_secret(*secrets)
    install_log_redaction(*_REDACTED_LOGGERS)
    clock = clock or SystemClock()
    if limiter is None:
        limiter = (
            shared_bucket(network, rate_limit)
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
        transport=transport,
        follow_redirects=False,
    )
    return ApiClient(
        network=network,
        http=http,
        limiter=limiter,
        retry=retry or RetryPolicy(),
        clock=clock,
        credential_settings=tuple(credential_settings),
    )


def same_origin(client: ApiClient, url: str) -> bool:
    """True when `url` is relative or points at the client's own scheme, host and port."""
    target = httpx.URL(url)
    if not target.is_absolute_url:
        return True
    base = client.http.base_url
    return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
