"""Payments APIs, raw: impact.com Invoices and WithdrawalSettings, Awin payments and breakdowns.

The pages come out as the APIs send them; flows/payments_pull.py validates them (schemas.payments).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from connectors.errors import ApiError, AuthError, ResponseFormatError
from connectors.http import ApiClient, redact
from connectors.impact import API as IMPACT
from connectors.impact import MAX_WINDOW_DAYS, dated_requests
from connectors.settings import ImpactSettings
from connectors.stream import NextLink, PageContext, Stream

log = logging.getLogger(__name__)

INVOICES_PATH = "/Mediapartners/{account_sid}/Invoices"
WITHDRAWAL_PATH = "/Mediapartners/{account_sid}/WithdrawalSettings"
# The publisher payments API lives under /public on Awin's API host (help.awin.com, §10.2).
AWIN_PUBLIC = "/public"
AWIN_PAYMENTS_PATH = "/v1/publishers/{publisher_id}/payments"
AWIN_BREAKDOWNS_PATH = "/v1/publishers/{publisher_id}/payments/{payment_id}/breakdowns"
AWIN_LIMIT = 100  # `limit` is 1-100 (§10.2)
AWIN_MAX_OFFSET = 10_000  # "Offsets beyond 10000 are rejected with 400" (§10.2)
# An invoice turns from PENDING to PAID well after it is created, and Invoices are listed by
# creation date: every pull re-reads a year of them so such changes are seen.
INVOICE_LOOKBACK = timedelta(days=365)


# --- impact.com -----------------------------------------------------------------------------


def _read_invoices(body: Any, at: PageContext) -> tuple[list[Any], Mapping[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("Invoices"), list):
        raise ResponseFormatError(
            "impact.com: expected an object with an `Invoices` list from "
            f"GET {redact(at.request.path)} (page {at.number})",
            network="impact",
        )
    return body["Invoices"], body


IMPACT_INVOICES: Stream[ImpactSettings] = replace(
    IMPACT,
    raw_model="impact.invoice",
    request=dated_requests(INVOICES_PATH),
    extract=_read_invoices,
    # Listed by creation date in 45-day windows, paged like the Actions endpoint (§2, §10.1).
    paginator=NextLink("@nextpageuri"),
    max_history=None,
    records_name="invoices",
)
"""impact.com Invoices: the same account, auth and paging as its Actions."""


def fetch_withdrawal_settings(client: ApiClient, account_sid: str) -> Any:
    """The WithdrawalSettings object (also accepted wrapped in a `WithdrawalSettings` key)."""
    body = client.get_json(WITHDRAWAL_PATH.format(account_sid=account_sid))
    if isinstance(body, dict) and isinstance(body.get("WithdrawalSettings"), dict):
        return body["WithdrawalSettings"]
    return body


def fetch_impact_invoices(
    client: ApiClient, settings: ImpactSettings, start: datetime, end: datetime
) -> Iterator[tuple[int, list[Any]]]:
    """(page number across the pull, invoices) for every invoice created from a year before
    `end` (or from `start`, if earlier)."""
    since = min(start, end - INVOICE_LOOKBACK)
    number = 0
    for window in IMPACT_INVOICES.windows(since, end, max_days=MAX_WINDOW_DAYS, now=end):
        for page in IMPACT_INVOICES.pages(client, settings, window):
            number += 1
            yield number, page.records


# --- Awin -----------------------------------------------------------------------------------


def _awin_results(body: Any, where: str) -> list[Any]:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return list(body["results"])
    raise ResponseFormatError(
        f"Awin: expected an object with a `results` list from {where}", network="awin"
    )


def _full_access(publisher_id: str) -> Callable[[AuthError], AuthError]:
    def explain(error: AuthError) -> AuthError:
        if error.status_code != 403:
            return error
        return AuthError(
            f"Awin refused the payments API (403): the token's user needs the Full Access role "
            f"on publisher {publisher_id} (Awin > Account > User management)",
            network="awin",
            status_code=403,
            url=error.url,
        )

    return explain


def _awin_payments(publisher_id: str) -> str:
    return AWIN_PAYMENTS_PATH.format(publisher_id=publisher_id)


def fetch_awin_paged(client: ApiClient, path: str, what: str) -> Iterator[tuple[int, list[Any]]]:
    """Yield (page number, results) of a limit/offset listing until a short page, stopping at
    the API's offset ceiling (what lies beyond cannot be read: logged)."""
    offset, number = 0, 0
    while True:
        number += 1
        params: dict[str, str | int] = {"limit": AWIN_LIMIT, "offset": offset}
        body = client.get_json(path, params=params, page=number)
        results = _awin_results(body, f"GET {redact(path)} (offset {offset})")
        yield number, results
        if len(results) < AWIN_LIMIT:
            return
        offset += AWIN_LIMIT
        if offset > AWIN_MAX_OFFSET:
            log.warning("Awin: %s beyond offset %d cannot be listed", what, AWIN_MAX_OFFSET)
            return


def fetch_awin_payments(client: ApiClient, publisher_id: str) -> tuple[str, list[Any]]:
    """Every page of the publisher's payments, and the path prefix that served them (for the
    breakdowns). A 403 names the Full Access role the payments API needs."""
    listing = _awin_payments(publisher_id)
    try:
        try:
            prefix = AWIN_PUBLIC
            pages = list(fetch_awin_paged(client, prefix + listing, "payments"))
        except ApiError as error:
            # A stand-in that serves the API's paths without the /public prefix (as one
            # behind a base URL ending in /public would): read those paths instead.
            if error.status_code != 404:
                raise
            prefix = ""
            pages = list(fetch_awin_paged(client, listing, "payments"))
    except AuthError as error:
        raise _full_access(publisher_id)(error) from None
    return prefix, pages


def fetch_awin_breakdowns(
    client: ApiClient, publisher_id: str, payment_id: str, *, prefix: str
) -> Iterator[tuple[int, list[Any]]]:
    """The pages of one payment's breakdowns (under the prefix its listing was read from)."""
    path = prefix + AWIN_BREAKDOWNS_PATH.format(publisher_id=publisher_id, payment_id=payment_id)
    try:
        yield from fetch_awin_paged(client, path, "breakdowns")
    except AuthError as error:
        raise _full_access(publisher_id)(error) from None


PAYMENT_NETWORKS = ("impact", "awin")
"""Networks with a payments API; CJ and Amazon have none (affiliate-formats.md §10.3-10.4)."""
