"""impact.com Partner API: Actions by last-updated date in 45-day windows, paged by @nextpageuri."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base import DateWindow, Page, PagedNetwork, settings_client, split_windows
from connectors.http import (
    ApiClient,
    Clock,
    CursorTracker,
    PaginationError,
    RedactedBasicAuth,
    ResponseFormatError,
    redact,
    same_origin,
)
from connectors.settings import ImpactSettings
from schemas.impact import ActionRows, read_actions_json, validate_action_rows, validate_page
from schemas.validation import ColumnarBatch

log = logging.getLogger(__name__)

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
    earliest = now - MAX_HISTORY
    if start < earliest:
        log.warning(
            "impact.com keeps StartDate within 3 years; pulling from %s instead of %s",
            earliest.isoformat(),
            start.isoformat(),
        )
        start = earliest
    if end <= start:
        return []
    return split_windows(start, end, min(max_days, MAX_WINDOW_DAYS))


def make_impact_client(
    settings: ImpactSettings,
    *,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """An ApiClient with Basic auth (AccountSID, AuthToken); checks credentials first."""
    settings.require_credentials()
    sid, token = _credentials(settings)
    return settings_client(
        settings,
        network=NETWORK,
        auth=RedactedBasicAuth(sid, token),
        clock=clock,
        transport=transport,
    )


def fetch_actions(
    client: ApiClient, settings: ImpactSettings, window: DateWindow
) -> Iterator[Page]:
    """Yield every page of Actions last updated in `window`, following @nextpageuri."""
    sid, _ = _credentials(settings)
    url = ACTIONS_PATH.format(account_sid=sid)
    params: dict[str, str | int] | None = {
        "StartDate": format_date(window.start),
        "EndDate": format_date(window.end),
        "PageSize": settings.page_size,
    }
    next_uris = CursorTracker(NETWORK, "@nextpageuri")
    page_labels = CursorTracker(NETWORK, "@page")
    number = 1
    while True:
        response = client.get_response(url, params=params, page=number)
        # One pass over the bytes parses and validates a plain page (schemas.impact); any
        # other answer is decoded as JSON and read record by record, with the usual errors.
        bulk = read_actions_json(response.content)
        if bulk is not None:
            next_uri, page_label = _next_uri(bulk.next_uri), _page_label(bulk.page_label)
            page = Page(number=number, url=redact(url), validated=bulk.actions)
        else:
            body = client.decode_json(response, page=number)
            records, next_uri, page_label = _read_page(body, client, url, number)
            page = Page(number=number, records=records, url=redact(url))
        if page_label is not None:
            page_labels.advance(page_label)
        log.info("impact.com: window %s page %d: %d actions", window, number, page.size)
        yield page
        if not next_uri:
            return
        if not same_origin(client, next_uri):
            # Following it would send the Basic credentials to another host.
            raise PaginationError(
                f"impact.com: @nextpageuri {redact(next_uri)!r} leaves "
                f"{client.http.base_url}; refusing to follow",
                network=NETWORK,
            )
        url, params, number = next_uris.advance(next_uri), None, number + 1


def _read_page(
    body: Any, client: ApiClient, url: str, number: int
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    where = f"GET {redact(url)} (page {number})"
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
    return records, _next_uri(body.get("@nextpageuri")), _page_label(body.get("@page"))


# The @-metadata values are strings, "" when absent (§2); an empty link ends paging.
def _next_uri(value: Any) -> str | None:
    return (str(value).strip() or None) if value is not None else None


def _page_label(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _credentials(settings: ImpactSettings) -> tuple[str, str]:
    return settings.credential("account_sid"), settings.credential("auth_token")


class ImpactNetwork(PagedNetwork[ImpactSettings]):
    """impact.com as an ApiNetwork: upsert by Action Id, pulled by last-updated date."""

    name = NETWORK
    settings_class = ImpactSettings
    max_window_days = MAX_WINDOW_DAYS

    def account(self, settings: ImpactSettings) -> str:
        """The account's name (the Account SID is the login, not the ledger's account)."""
        return settings.ledger_account()

    def make_client(self, settings: ImpactSettings) -> ApiClient:
        """Basic auth with the SID and token."""
        return make_impact_client(settings)

    def fetch(self, api: ApiClient, settings: ImpactSettings, window: DateWindow) -> Iterator[Page]:
        """The Actions pages of one last-updated window."""
        return fetch_actions(api, settings, window)

    def validate(self, records: list[dict[str, Any]], *, account: str, page: int) -> ColumnarBatch:
        """Impact Actions to ledger lines."""
        return validate_page(records, account=account, page=page)

    def validate_page(self, page: Page, *, account: str, number: int) -> ColumnarBatch:
        """A page validated in one pass when fetched, else its records one by one."""
        if isinstance(page.validated, ActionRows):
            return validate_action_rows(page.validated, account=account, page=number)
        return self.validate(page.records, account=account, page=number)

    def windows(
        self, settings: ImpactSettings, start: datetime, end: datetime, now: datetime
    ) -> list[DateWindow]:
        """45-day windows, StartDate clamped to three years back."""
        return plan_windows(start, end, max_days=settings.max_window_days, now=now)


API = ImpactNetwork()
