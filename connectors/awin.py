"""Awin Publisher API, declared: transactions in 31-day windows, by transaction date then by
validation date, one answer per window, Bearer auth with the personal token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.base import DateWindow, Page
from connectors.http import ApiClient, ResponseFormatError, redact
from connectors.settings import AwinSettings
from connectors.stream import Bearer, PageContext, Request, SinglePage, Stream

NETWORK = "awin"
TRANSACTIONS_PATH = "/publishers/{publisher_id}/transactions/"
MAX_WINDOW_DAYS = 31  # "the maximum date range ... currently supported is 31 days" (§4)
DateType = Literal["transaction", "validation"]
# The validation pass runs second so its fresher view of a row wins the de-duplication:
# it is how approvals and declines of older transactions are caught (§4, §6).
DATE_TYPES: tuple[DateType, ...] = ("transaction", "validation")


def format_date(value: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ss` in UTC: Awin takes naive times in the `timezone` parameter."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def fetch_transactions(
    client: ApiClient,
    settings: AwinSettings,
    window: DateWindow,
    *,
    date_type: DateType = "transaction",
) -> Iterator[Page]:
    """Yield the one page (a bare JSON array, no paging envelope) for `window`."""
    return API.pages(client, settings, window, partition=date_type)


def _request(
    settings: AwinSettings, window: DateWindow, token: str | None, date_type: str
) -> Request:
    return Request(
        TRANSACTIONS_PATH.format(publisher_id=settings.credential("publisher_id")),
        params={
            "startDate": format_date(window.start),
            "endDate": format_date(window.end),
            "timezone": "UTC",
            "dateType": date_type,
        },
    )


def _read_page(body: Any, at: PageContext) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(body, list):
        shape = (
            f"object with keys {sorted(map(str, body))[:8]}"
            if isinstance(body, dict)
            else (type(body).__name__)
        )
        raise ResponseFormatError(
            f"Awin: expected a JSON array from GET {redact(at.request.path)} (page {at.number}, "
            f"dateType={at.partition}, window {at.window}), got {shape}",
            network=NETWORK,
        )
    return body, {}


API: Stream[AwinSettings] = Stream(
    name=NETWORK,
    label="Awin",
    settings_class=AwinSettings,
    account_setting="publisher_id",
    auth=Bearer("token"),
    request=_request,
    extract=_read_page,
    paginator=SinglePage(),
    raw_model="awin.transaction",
    primary_key=("id",),
    # Approvals and declines change a transaction under its id: the last read wins.
    disposition="upsert",
    max_window_days=MAX_WINDOW_DAYS,
    partitions=DATE_TYPES,
    records_name="transactions",
)
"""Awin transactions: both date passes over every window, upserted by transaction id."""
