"""What every API connector shares: half-open UTC windows, raw pages, authenticated clients."""

from __future__ import annotations

from collections.abc import Mapping, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.http import ApiClient, Clock, make_client
from connectors.settings import NetworkSettings


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
    """One page of raw records as the API returned them, and its envelope's other fields.

    When the pull hands the stream a schema's one-pass reader (connectors.stream.PageReader)
    and it takes the answer, `validated` holds what it read and `records` stays empty.
    """

    number: int
    records: list[Any] = field(default_factory=list)
    url: str = ""  # redacted
    validated: Sized | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)  # what the paginator reads

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
