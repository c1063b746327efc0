"""What every API connector shares: half-open UTC windows, pages, and the ApiNetwork protocol."""

from __future__ import annotations

from collections.abc import Iterator, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import httpx

from connectors.http import ApiClient, BearerAuth, Clock, make_client
from connectors.settings import NetworkSettings
from schemas.validation import ColumnarBatch, ValidatedBatch

S = TypeVar("S", bound=NetworkSettings)


@dataclass(frozen=True)
class DateWindow:
    """A half-open time range `start <= t < end`, timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"empty window: {self.start.isoformat()} .. {self.end.isoformat()}")

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Page:
    """One page of raw records as the API returned them.

    A network whose schema parses and validates an answer's bytes in one pass hands that
    result over as `validated` (and leaves `records` empty); its `validate_page` takes it.
    """

    number: int
    records: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""  # redacted
    validated: Sized | None = None

    @property
    def size(self) -> int:
        """How many records the page holds (a property, so an empty page stays truthy)."""
        return len(self.records) if self.validated is None else len(self.validated)


def split_windows(start: datetime, end: datetime, max_days: int) -> list[DateWindow]:
    """Cut `[start, end)` into consecutive windows of at most `max_days`, in UTC.

    The windows cover the range exactly: no gaps, no overlaps, last one possibly shorter.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    step = timedelta(days=max_days)
    windows: list[DateWindow] = []
    cursor = start
    while cursor < end:
        upper = min(cursor + step, end)
        windows.append(DateWindow(cursor, upper))
        cursor = upper
    return windows


def lookback_start(settings: NetworkSettings, *, now: datetime) -> datetime:
    """The default pull start: `now` minus the network's lookback days."""
    return now - timedelta(days=settings.lookback_days)


@runtime_checkable
class ApiNetwork(Protocol[S]):
    """The network-agnostic entry the flows call for API networks."""

    @property
    def name(self) -> str:
        """Registry key and `commissions.network` value, e.g. "impact"."""
        ...

    @property
    def settings_class(self) -> type[S]:
        """The pydantic-settings class to instantiate (reads env and .env)."""
        ...

    def account(self, settings: S) -> str:
        """The ledger `account` value for these settings: the account's name."""
        ...

    def pull(
        self, settings: S, start: datetime, end: datetime
    ) -> Iterator[ValidatedBatch | ColumnarBatch]:
        """Fetch `[start, end)` in API-sized windows and yield validated batches, page by page."""
        ...


def settings_client(
    settings: NetworkSettings,
    *,
    network: str,
    auth: httpx.Auth,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """The shared-layer client configured from a network's settings (after a credential check)."""
    settings.require_credentials()
    return make_client(
        network=network,
        base_url=settings.base_url,
        auth=auth,
        rate_limit=settings.rate_limit(),
        timeout=settings.timeout(),
        retry=settings.retry_policy(),
        limits=settings.request_limits(),
        secrets=settings.secret_values(),
        credential_settings=settings.secret_setting_names(),
        login=settings.login_key(),
        clock=clock,
        transport=transport,
    )


def token_client(
    settings: NetworkSettings,
    *,
    network: str,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """An ApiClient sending `Authorization: Bearer <token>` (Awin: not the legacy accessToken
    query; CJ: its personal access token), the token being the settings' `token`."""
    return settings_client(
        settings,
        network=network,
        auth=BearerAuth(settings.credential("token")),
        clock=clock,
        transport=transport,
    )


class PagedNetwork(Generic[S]):
    """The pull loop every API network shares: check credentials before any request, cut the
    range into the API's windows, and yield one validated batch per page (numbered across the
    whole pull, for reject locators). Subclasses say how to connect, fetch and validate."""

    name: str
    settings_class: type[S]
    max_window_days: int  # the API's own limit; settings may only narrow it

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def account(self, settings: S) -> str:
        """The ledger `account` value for these settings."""
        raise NotImplementedError

    def make_client(self, settings: S) -> ApiClient:
        """The shared-layer client, authenticated for this network."""
        raise NotImplementedError

    def fetch(self, api: ApiClient, settings: S, window: DateWindow) -> Iterator[Page]:
        """The pages of one window."""
        raise NotImplementedError

    def validate(
        self, records: list[dict[str, Any]], *, account: str, page: int
    ) -> ValidatedBatch | ColumnarBatch:
        """Validate one page of raw records into ledger lines and rejects."""
        raise NotImplementedError

    def validate_page(
        self, page: Page, *, account: str, number: int
    ) -> ValidatedBatch | ColumnarBatch:
        """Validate one fetched page (numbered across the pull); networks that hand over
        `Page.validated` override this to use it."""
        return self.validate(page.records, account=account, page=number)

    def windows(
        self, settings: S, start: datetime, end: datetime, now: datetime
    ) -> list[DateWindow]:
        """`[start, end)` cut into windows the API accepts."""
        return split_windows(start, end, min(settings.max_window_days, self.max_window_days))

    def pull(
        self,
        settings: S,
        start: datetime,
        end: datetime,
        *,
        client: ApiClient | None = None,
        now: datetime | None = None,
    ) -> Iterator[ValidatedBatch | ColumnarBatch]:
        """Validate credentials now (eagerly), then lazily pull `[start, end)` page by page."""
        settings.require_credentials()
        windows = self.windows(settings, start, end, now or datetime.now(UTC))
        return self._pull(settings, windows, client)

    def _pull(
        self, settings: S, windows: list[DateWindow], client: ApiClient | None
    ) -> Iterator[ValidatedBatch | ColumnarBatch]:
        account = self.account(settings)
        owned = client is None
        api = client or self.make_client(settings)
        try:
            yield from self.batches(api, settings, windows, account)
        finally:
            if owned:
                api.close()

    def batches(
        self, api: ApiClient, settings: S, windows: list[DateWindow], account: str
    ) -> Iterator[ValidatedBatch | ColumnarBatch]:
        """Every page of every window, validated."""
        number = 0
        for window in windows:
            for page in self.fetch(api, settings, window):
                number += 1
                yield self.validate_page(page, account=account, number=number)
