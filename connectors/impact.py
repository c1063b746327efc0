"""impact.com Partner API, declared: Actions by last-updated date in 45-day windows, paged by
@nextpageuri, Basic auth with the Account SID and token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base import DateWindow, Page
from connectors.http import ApiClient, Clock, ResponseFormatError, redact
from connectors.settings import ImpactSettings
from connectors.stream import Basic, NextLink, PageContext, PageReader, Request, Stream

NETWORK = "impact"
ACTIONS_PATH = "/Mediapartners/{account_sid}/Actions"
PAGE_SIZE = 20000  # what singer-io/tap-impact requests (affiliate-formats.md §2)
MAX_WINDOW_DAYS = 45  # StartDate..EndDate may be at most 45 days apart (§2, v16 spec)
# StartDate may be at most 3 years back (§2). 1095 days never exceeds 3 calendar years; the
# hour of margin absorbs clock skew between us and the API.
MAX_HISTORY = timedelta(days=3 * 365) - timedelta(hours=1)


def format_date(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as StartDate/EndDate expect."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_windows(
    start: datetime, end: datetime, *, max_days: int, now: datetime
) -> list[DateWindow]:
    """Clamp `start` to 3 years back, then split `[start, end)` into windows of `max_days`."""
    return API.windows(start, end, max_days=max_days, now=now)


def make_impact_client(
    settings: ImpactSettings,
    *,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """An ApiClient with Basic auth (AccountSID, AuthToken); checks credentials first."""
    return API.make_client(settings, clock=clock, transport=transport)


def fetch_actions(
    client: ApiClient,
    settings: ImpactSettings,
    window: DateWindow,
    *,
    read: PageReader | None = None,
) -> Iterator[Page]:
    """Yield every page of Actions last updated in `window`, following @nextpageuri; `read`
    (the schema's one-pass reader, handed in by the pull) takes the plain answers."""
    return API.pages(client, settings, window, read=read)


def dated_requests(path: str) -> Callable[[ImpactSettings, DateWindow, str | None, str], Request]:
    """The requests of an impact.com listing by date (`path` holds `{account_sid}`): the
    window's StartDate, EndDate and PageSize, then each @nextpageuri as it was given."""

    def request(
        settings: ImpactSettings, window: DateWindow, next_uri: str | None, partition: str
    ) -> Request:
        if next_uri is not None:
            return Request(next_uri)  # the link carries every parameter
        return Request(
            path.format(account_sid=settings.credential("account_sid")),
            params={
                "StartDate": format_date(window.start),
                "EndDate": format_date(window.end),
                "PageSize": settings.page_size,
            },
        )

    return request


def _read_page(body: Any, at: PageContext) -> tuple[list[Any], dict[str, Any]]:
    where = f"GET {redact(at.request.path)} (page {at.number})"
    if not isinstance(body, dict):
        raise ResponseFormatError(
            f"impact.com: expected a JSON object from {where}, got {type(body).__name__}",
            network=NETWORK,
        )
    records = body.get("Actions")
    if not isinstance(records, list):
        raise ResponseFormatError(
            f"impact.com: no `Actions` list in the answer to {where} "
            f"(keys: {', '.join(sorted(map(str, body))[:12])})",
            network=NETWORK,
        )
    return records, body


API: Stream[ImpactSettings] = Stream(
    name=NETWORK,
    label="impact.com",
    settings_class=ImpactSettings,
    account_setting="account_sid",
    auth=Basic("account_sid", "auth_token"),
    request=dated_requests(ACTIONS_PATH),
    extract=_read_page,
    # The @-metadata values are strings, "" when absent (§2); an empty link ends paging.
    paginator=NextLink("@nextpageuri", label="@page"),
    raw_model="impact.action",
    primary_key=("Id",),
    # Actions change (state, payout) under the same Id: the last read wins.
    disposition="upsert",
    max_window_days=MAX_WINDOW_DAYS,
    max_history=MAX_HISTORY,
    records_name="actions",
)
"""impact.com Actions, pulled by last-updated date, upserted by Action Id."""
