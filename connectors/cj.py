"""CJ Commission Detail GraphQL API, declared: publisherCommissions by posting date, paged from
maxCommissionId to payloadComplete, Bearer auth with the personal access token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connectors.base import DateWindow, Page
from connectors.http import ApiClient, ApiError, ResponseFormatError
from connectors.settings import CJSettings
from connectors.stream import Bearer, CursorUntilComplete, PageContext, Request, Stream

NETWORK = "cj"
QUERY_PATH = "/query"
# The old REST API capped ranges at 31 days; GraphQL docs are silent, so stay within it (§3).
MAX_WINDOW_DAYS = 31
RECORD_FIELDS: tuple[str, ...] = (
    "commissionId",
    "actionStatus",
    "actionType",
    "actionTrackerName",
    "advertiserId",
    "advertiserName",
    "postingDate",
    "eventDate",
    "lockingDate",
    "orderId",
    "original",
    "originalActionId",
    "correctionReason",
    "pubCommissionAmountUsd",
    "saleAmountUsd",
    "shopperId",
    "websiteId",
)


def format_date(value: datetime) -> str:
    """UTC ISO 8601 with `Z`, e.g. 1999-12-31T11:59:59Z (the API's own example)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_query(publisher_id: str, window: DateWindow, since_commission_id: str | None) -> str:
    """The publisherCommissions query with inline literal arguments (JSON-escaped strings).

    sincePostingDate is inclusive and beforePostingDate exclusive (§3): a half-open window.
    """
    arguments = [
        f"forPublishers: [{json.dumps(publisher_id)}]",
        f"sincePostingDate: {json.dumps(format_date(window.start))}",
        f"beforePostingDate: {json.dumps(format_date(window.end))}",
    ]
    if since_commission_id is not None:
        arguments.append(f"sinceCommissionId: {json.dumps(since_commission_id)}")
    return (
        f"{{ publisherCommissions({', '.join(arguments)}) "
        f"{{ count payloadComplete maxCommissionId records {{ {' '.join(RECORD_FIELDS)} }} }} }}"
    )


def fetch_commissions(
    client: ApiClient, settings: CJSettings, window: DateWindow
) -> Iterator[Page]:
    """Yield pages for `window` until payloadComplete, continuing from maxCommissionId."""
    return API.pages(client, settings, window)


def _request(
    settings: CJSettings, window: DateWindow, since: str | None, partition: str
) -> Request:
    query = build_query(settings.credential("publisher_id"), window, since)
    return Request(QUERY_PATH, body={"query": query})


def _read_page(body: Any, at: PageContext) -> tuple[list[Any], dict[str, Any]]:
    where = f"POST {QUERY_PATH} (page {at.number}, window {at.window})"
    if not isinstance(body, dict):
        raise ResponseFormatError(
            f"CJ: expected a JSON object from {where}, got {type(body).__name__}", network=NETWORK
        )
    errors = body.get("errors")
    if errors:
        # GraphQL reports failures inside a 200 answer.
        items = errors if isinstance(errors, list) else [errors]
        messages = [
            str(item.get("message", item)) if isinstance(item, dict) else str(item)
            for item in items
        ]
        raise ApiError(f"CJ GraphQL error on {where}: {'; '.join(messages)}", network=NETWORK)
    data = body.get("data")
    envelope = data.get("publisherCommissions") if isinstance(data, dict) else None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("records"), list):
        raise ResponseFormatError(
            f"CJ: no data.publisherCommissions.records list in the answer to {where}",
            network=NETWORK,
        )
    return envelope["records"], envelope


API: Stream[CJSettings] = Stream(
    name=NETWORK,
    label="CJ",
    settings_class=CJSettings,
    account_setting="publisher_id",
    auth=Bearer("token"),
    request=_request,
    extract=_read_page,
    paginator=CursorUntilComplete("maxCommissionId", complete="payloadComplete"),
    raw_model="cj.commission",
    primary_key=("commissionId",),
    # A commission never changes: a correction is a new commissionId (originalActionId points
    # back), so every new id inserts; one read twice is unchanged.
    disposition="upsert",
    max_window_days=MAX_WINDOW_DAYS,
)
"""CJ commissions by posting date, each commissionId once."""
