"""Awin Publisher API: transactions in 31-day windows, by transaction date then validation date."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.base import DateWindow, Page, PagedNetwork, token_client
from connectors.http import (
    ApiClient,
    ResponseFormatError,
    redact,
)
from connectors.settings import AwinSettings
from schemas.awin import validate_page
from schemas.validation import ValidatedBatch

log = logging.getLogger(__name__)

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
    page: int = 1,
) -> Iterator[Page]:
    """Yield the one page (a bare JSON array, no paging envelope) for `window`."""
    url = TRANSACTIONS_PATH.format(publisher_id=settings.credential("publisher_id"))
    params: dict[str, str | int] = {
        "startDate": format_date(window.start),
        "endDate": format_date(window.end),
        "timezone": "UTC",
        "dateType": date_type,
    }
    body = client.get_json(url, params=params, page=page)
    if not isinstance(body, list):
        shape = (
            f"object with keys {sorted(map(str, body))[:8]}"
            if isinstance(body, dict)
            else (type(body).__name__)
        )
        raise ResponseFormatError(
            f"Awin: expected a JSON array from GET {redact(url)} (page {page}, "
            f"dateType={date_type}, window {window}), got {shape}",
            network=NETWORK,
        )
    log.info("Awin: %s window %s: %d transactions", date_type, window, len(body))
    yield Page(number=page, records=body, url=redact(url))


def keep_latest(batches: Iterable[ValidatedBatch]) -> list[ValidatedBatch]:
    """Drop every line whose line_id appears again later in the pull; the last one wins."""
    ordered = list(batches)
    seen: set[str] = set()
    kept: list[ValidatedBatch] = []
    for batch in reversed(ordered):
        lines, sources = [], []
        for line, source in zip(reversed(batch.lines), reversed(batch.source_lines), strict=True):
            if line.line_id in seen:
                continue
            seen.add(line.line_id)
            lines.append(line)
            sources.append(source)
        lines.reverse()
        sources.reverse()
        kept.append(
            ValidatedBatch(
                lines=lines,
                source_lines=sources,
                rejects=batch.rejects,
                records_read=batch.records_read,
                # Every page's terms stay: the load keeps the last read of each line's.
                terms=batch.terms,
            )
        )
    kept.reverse()
    return kept


class AwinNetwork(PagedNetwork[AwinSettings]):
    """Awin as an ApiNetwork: upsert by transaction id; two date passes per pull."""

    name = NETWORK
    settings_class = AwinSettings
    max_window_days = MAX_WINDOW_DAYS

    def account(self, settings: AwinSettings) -> str:
        """The account's name (the publisher id is part of the path, not the ledger's account)."""
        return settings.ledger_account()

    def make_client(self, settings: AwinSettings) -> ApiClient:
        """Bearer auth with the personal token."""
        return token_client(settings, network=NETWORK)

    def validate(self, records: list[dict[str, Any]], *, account: str, page: int) -> ValidatedBatch:
        """Awin transactions to ledger lines."""
        return validate_page(records, account=account, page=page)

    def batches(
        self, api: ApiClient, settings: AwinSettings, windows: list[DateWindow], account: str
    ) -> Iterator[ValidatedBatch]:
        """Both date passes over every window, then de-duplicated by id (buffered)."""
        batches: list[ValidatedBatch] = []
        number = 0
        for date_type in DATE_TYPES:
            for window in windows:
                number += 1
                for page in fetch_transactions(
                    api, settings, window, date_type=date_type, page=number
                ):
                    batches.append(self.validate(page.records, account=account, page=page.number))
        yield from keep_latest(batches)


API = AwinNetwork()
