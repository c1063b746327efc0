"""CJ Commission Detail GraphQL API: publisherCommissions by posting date, to payloadComplete."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connectors.base import DateWindow, Page, PagedNetwork, token_client
from connectors.http import (
    ApiClient,
    ApiError,
    CursorTracker,
    PaginationError,
    ResponseFormatError,
)
from connectors.settings import CJSettings
from schemas.cj import validate_page
from schemas.validation import ValidatedBatch

log = logging.getLogger(__name__)

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
    publisher_id = settings.credential("publisher_id")
    cursors = CursorTracker(NETWORK, "maxCommissionId")
    since: str | None = None
    number = 1
    while True:
        query = build_query(publisher_id, window, since)
        body = client.post_json(QUERY_PATH, body={"query": query}, page=number)
        envelope = _envelope(body, number, window)
        records = envelope["records"]
        log.info("CJ: window %s page %d: %d records", window, number, len(records))
        yield Page(number=number, records=records, url=QUERY_PATH)
        complete = envelope.get("payloadComplete")
        if complete is True:
            return
        if complete is not False:
            raise ResponseFormatError(
                f"CJ: payloadComplete is {complete!r}, expected true or false "
                f"(POST {QUERY_PATH}, page {number}, window {window})",
                network=NETWORK,
            )
        max_id = envelope.get("maxCommissionId")
        if max_id in (None, ""):
            raise PaginationError(
                f"CJ: payloadComplete is false but maxCommissionId is empty (page {number}, "
                f"window {window}); cannot continue without truncating",
                network=NETWORK,
            )
        since = cursors.advance(str(max_id))
        number += 1


def _envelope(body: Any, number: int, window: DateWindow) -> dict[str, Any]:
    where = f"POST {QUERY_PATH} (page {number}, window {window})"
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
    return envelope


class CJNetwork(PagedNetwork[CJSettings]):
    """CJ as an ApiNetwork: insert every commissionId; corrections are new records."""

    name = NETWORK
    settings_class = CJSettings
    max_window_days = MAX_WINDOW_DAYS

    def account(self, settings: CJSettings) -> str:
        """The account's name (the publisher id goes in forPublishers, not the ledger)."""
        return settings.ledger_account()

    def make_client(self, settings: CJSettings) -> ApiClient:
        """Bearer auth with the personal access token."""
        return token_client(settings, network=NETWORK)

    def fetch(self, api: ApiClient, settings: CJSettings, window: DateWindow) -> Iterator[Page]:
        """The publisherCommissions pages of one posting-date window."""
        return fetch_commissions(api, settings, window)

    def validate(self, records: list[dict[str, Any]], *, account: str, page: int) -> ValidatedBatch:
        """CJ commissions to ledger lines."""
        return validate_page(records, account=account, page=page)


API = CJNetwork()
