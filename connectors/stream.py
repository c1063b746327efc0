"""What an API network declares about itself (a `Stream`) and the one loop fetching its pages.

A network module states its auth, requests, paginator, windows, primary key, load disposition
and the name of its raw model (the model lives in schemas/, found by that name); this module
turns such a declaration into raw pages. Validation is not done here: the pull loop above
(flows/pull_loop.py) pairs the stream with its schema, as dlt's resources and Singer SDK's
`RESTStream`s are declared once and driven by their framework.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sized
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import httpx

from connectors.base import DateWindow, Page, settings_client, split_windows
from connectors.errors import PaginationError, ResponseFormatError
from connectors.http import (
    ApiClient,
    BearerAuth,
    Clock,
    CursorTracker,
    RedactedBasicAuth,
    redact,
    same_origin,
)
from connectors.settings import NetworkSettings
from connectors.source import Source

log = logging.getLogger(__name__)

S = TypeVar("S", bound=NetworkSettings)

PageReader = Callable[[bytes], tuple[Sized, Mapping[str, Any]] | None]
"""A schema's one-pass reader of an answer's bytes: the records as it validated them and the
envelope's other fields, or None when the answer needs the per-record path (which then words
any error). The pull loop hands it in; the connector never knows the schema."""


@dataclass(frozen=True)
class Request:
    """One request of a stream: GET `path` with `params`, or POST `body` as JSON."""

    path: str
    params: Mapping[str, str | int] | None = None
    body: Any = None

    @property
    def method(self) -> str:
        """POST when there is a body to send, else GET."""
        return "GET" if self.body is None else "POST"


@dataclass(frozen=True)
class Bearer:
    """`Authorization: Bearer <token>`, the token being the named setting (Awin, CJ)."""

    setting: str = "token"

    def __call__(self, settings: NetworkSettings) -> httpx.Auth:
        """The auth for these settings (the token is registered for redaction)."""
        return BearerAuth(settings.credential(self.setting))


@dataclass(frozen=True)
class Basic:
    """HTTP Basic auth from two settings (impact.com: Account SID and auth token)."""

    username: str
    password: str

    def __call__(self, settings: NetworkSettings) -> httpx.Auth:
        """The auth for these settings (both values are registered for redaction)."""
        return RedactedBasicAuth(
            settings.credential(self.username), settings.credential(self.password)
        )


@dataclass(frozen=True)
class PageContext:
    """Where a page came from: its request, number within the window, window and partition."""

    request: Request
    number: int
    window: DateWindow
    partition: str
    client: ApiClient


class PagingRun(Protocol):
    """One window's paging state (fresh per window, as Singer SDK's get_new_paginator)."""

    def check(self, page: Page, at: PageContext) -> None:
        """Refuse a page before it is handed on (a repeated page label)."""
        ...

    def next_token(self, page: Page, at: PageContext) -> str | None:
        """The token of the next page (a link or a cursor), None when this was the last."""
        ...


class Paginator(Protocol):
    """How a stream's pages follow each other; `start` gives one window's fresh state."""

    def start(self, label: str, network: str) -> PagingRun:
        """A new paging run for one window."""
        ...


@dataclass(frozen=True)
class SinglePage:
    """The whole window comes in one answer (Awin's transactions)."""

    def start(self, label: str, network: str) -> PagingRun:
        """No state: there is never a next page."""
        return _SingleRun()


class _SingleRun:
    def check(self, page: Page, at: PageContext) -> None:
        return None

    def next_token(self, page: Page, at: PageContext) -> str | None:
        return None


@dataclass(frozen=True)
class NextLink:
    """The answer names the next page's URL (impact.com's `@nextpageuri`, "" on the last page)
    and optionally labels itself (`@page`); a repeated link or label is a PaginationError, and
    a link to another host is refused (it would carry the credentials there)."""

    link: str
    label: str | None = None

    def start(self, label: str, network: str) -> PagingRun:
        """Trackers of the links and labels seen in this window."""
        return _NextLinkRun(self, label, network)


class _NextLinkRun:
    def __init__(self, spec: NextLink, label: str, network: str) -> None:
        self._spec, self._label, self._network = spec, label, network
        self._links = CursorTracker(network, spec.link)
        self._labels = CursorTracker(network, spec.label or "")

    def check(self, page: Page, at: PageContext) -> None:
        if self._spec.label is not None:
            value = page.meta.get(self._spec.label)
            if value not in (None, ""):
                self._labels.advance(str(value))

    def next_token(self, page: Page, at: PageContext) -> str | None:
        value = page.meta.get(self._spec.link)
        link = str(value).strip() if value is not None else ""
        if not link:
            return None
        if not same_origin(at.client, link):
            raise PaginationError(
                f"{self._label}: {self._spec.link} {redact(link)!r} leaves "
                f"{at.client.http.base_url}; refusing to follow",
                network=self._network,
            )
        return self._links.advance(link)


@dataclass(frozen=True)
class CursorUntilComplete:
    """Pages continue from a cursor the answer gives (`cursor`) until it says it is complete
    (`complete` true); a false without a cursor, or a repeated cursor, is a PaginationError
    (CJ's maxCommissionId and payloadComplete)."""

    cursor: str
    complete: str

    def start(self, label: str, network: str) -> PagingRun:
        """A tracker of the cursors seen in this window."""
        return _CursorRun(self, label, network)


class _CursorRun:
    def __init__(self, spec: CursorUntilComplete, label: str, network: str) -> None:
        self._spec, self._label, self._network = spec, label, network
        self._cursors = CursorTracker(network, spec.cursor)

    def check(self, page: Page, at: PageContext) -> None:
        return None

    def next_token(self, page: Page, at: PageContext) -> str | None:
        spec, where = self._spec, f"{at.request.method} {at.request.path}"
        complete = page.meta.get(spec.complete)
        if complete is True:
            return None
        if complete is not False:
            raise ResponseFormatError(
                f"{self._label}: {spec.complete} is {complete!r}, expected true or false "
                f"({where}, page {at.number}, window {at.window})",
                network=self._network,
            )
        cursor = page.meta.get(spec.cursor)
        if cursor in (None, ""):
            raise PaginationError(
                f"{self._label}: {spec.complete} is false but {spec.cursor} is empty "
                f"(page {at.number}, window {at.window}); cannot continue without truncating",
                network=self._network,
            )
        return self._cursors.advance(str(cursor))


@dataclass(frozen=True, kw_only=True)
class Stream(Source, Generic[S]):
    """One API network's commission stream, declared: a Source and how it is fetched.

    `request(settings, window, token, partition)` builds the first request of a window (token
    None) and each next one from the paginator's token; `extract(body, at)` reads a decoded
    answer into its raw records and the envelope fields the paginator reads, raising a
    ResponseFormatError that says what was expected. `partitions` are passes over every
    window (Awin's two date types); when there are several the pull keeps the last read of
    each line. The `primary_key` field's value becomes the ledger's line_id.
    """

    settings_class: type[S]
    account_setting: str  # the credential naming the login's account (SID, publisher id)
    auth: Callable[[S], httpx.Auth]
    request: Callable[[S, DateWindow, str | None, str], Request]
    extract: Callable[[Any, PageContext], tuple[list[Any], Mapping[str, Any]]]
    paginator: Paginator
    max_window_days: int  # the API's own limit; settings may only narrow it
    max_history: timedelta | None = None  # how far back the API lets a pull start
    partitions: tuple[str, ...] = ("",)
    records_name: str = "records"  # for the log: "actions", "transactions"

    def __repr__(self) -> str:
        return f"Stream(name={self.name!r})"

    def account(self, settings: S) -> str:
        """The ledger `account` value for these settings: the account's name (passive.toml's,
        else the network's), never the login's id, which `account_setting` names."""
        return settings.ledger_account()

    def make_client(
        self,
        settings: S,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> ApiClient:
        """The shared-layer client with the declared auth (credentials checked first)."""
        settings.require_credentials()
        return settings_client(
            settings,
            network=self.name,
            auth=self.auth(settings),
            clock=clock,
            transport=transport,
        )

    def windows(
        self, start: datetime, end: datetime, *, max_days: int, now: datetime
    ) -> list[DateWindow]:
        """`[start, end)` cut into windows of at most `max_days` (the settings') that the API
        accepts, the start clamped to the history it keeps."""
        if self.max_history is not None:
            earliest = now - self.max_history
            if start < earliest:
                log.warning(
                    "%s keeps the start within %s; pulling from %s instead of %s",
                    self.label,
                    _history(self.max_history),
                    earliest.isoformat(),
                    start.isoformat(),
                )
                start = earliest
            if end <= start:
                return []
        return split_windows(start, end, min(max_days, self.max_window_days))

    def pages(
        self,
        client: ApiClient,
        settings: S,
        window: DateWindow,
        *,
        partition: str = "",
        read: PageReader | None = None,
    ) -> Iterator[Page]:
        """Every raw page of one window, following the paginator. With `read`, a GET answer's
        bytes are first offered to it (one pass); what it declines is decoded as JSON."""
        paging = self.paginator.start(self.label, self.name)
        request = self.request(settings, window, None, partition)
        number = 1
        while True:
            at = PageContext(request, number, window, partition, client)
            page = self._page(at, read)
            paging.check(page, at)
            log.info(
                "%s: %swindow %s page %d: %d %s",
                self.label,
                f"{partition} " if partition else "",
                window,
                number,
                page.size,
                self.records_name,
            )
            yield page
            token = paging.next_token(page, at)
            if token is None:
                return
            request, number = self.request(settings, window, token, partition), number + 1

    def _page(self, at: PageContext, read: PageReader | None) -> Page:
        request, client, url = at.request, at.client, redact(at.request.path)
        if request.body is not None:
            body = client.post_json(request.path, body=request.body, page=at.number)
        else:
            response = client.get_response(request.path, params=request.params, page=at.number)
            parsed = read(response.content) if read is not None else None
            if parsed is not None:
                records, meta = parsed
                return Page(number=at.number, url=url, validated=records, meta=meta)
            body = client.decode_json(response, page=at.number)
        records, meta = self.extract(body, at)
        return Page(number=at.number, records=records, url=url, meta=meta)


def _history(span: timedelta) -> str:
    years, days = divmod(span.days + (1 if span.seconds else 0), 365)
    return f"{years} years" if days == 0 else f"{span.days} days"
