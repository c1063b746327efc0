"""What every API connector shares: half-open UTC windows, pages, and the ApiNetwork protocol."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, runtime_checkable

from connectors.settings import NetworkSettings
from schemas.validation import ValidatedBatch

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
    """One page of raw records as the API returned them."""

    number: int
    records: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""  # redacted


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
        """The ledger `account` value for these settings (SID or publisher id)."""
        ...

    def pull(self, settings: S, start: datetime, end: datetime) -> Iterator[ValidatedBatch]:
        """Fetch `[start, end)` in API-sized windows and yield validated batches, page by page."""
        ...
