"""Payments APIs: impact.com Invoices and WithdrawalSettings, Awin payments and breakdowns."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.awin import NETWORK as AWIN
from connectors.base import split_windows, token_client
from connectors.errors import ApiError, AuthError, PaginationError, ResponseFormatError
from connectors.http import ApiClient, CursorTracker, redact, same_origin
from connectors.impact import MAX_WINDOW_DAYS, format_date, make_impact_client
from connectors.settings import AwinSettings, ImpactSettings, NetworkSettings
from schemas.payments import (
    PaymentBatch,
    PayoutSettingRow,
    validate_awin_breakdowns,
    validate_awin_payments,
    validate_invoices,
    validate_withdrawal_settings,
)
from schemas.validation import Reject

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


@dataclass
class PaymentsPull:
    """What one payments pull read: payments and items, the payments whose items were read in
    full (only theirs are replaced), and the account's payout setting if the network has one."""

    network: str
    account: str
    batch: PaymentBatch = field(default_factory=PaymentBatch)
    items_for: set[str] = field(default_factory=set)
    setting: PayoutSettingRow | None = None


# --- impact.com -----------------------------------------------------------------------------


def fetch_invoices(
    client: ApiClient, account_sid: str, start: datetime, end: datetime, *, page_size: int
) -> Iterator[tuple[int, list[Any]]]:
    """Yield (page number, invoices) for invoices created in [start, end), in windows of at
    most 45 days, following @nextpageuri like the Actions endpoint (§2, §10.1)."""
    path = INVOICES_PATH.format(account_sid=account_sid)
    number = 0
    for window in split_windows(start, end, MAX_WINDOW_DAYS):
        url = path
        params: dict[str, str | int] | None = {
            "StartDate": format_date(window.start),
            "EndDate": format_date(window.end),
            "PageSize": page_size,
        }
        next_uris = CursorTracker("impact", "@nextpageuri")
        while True:
            number += 1
            body = client.get_json(url, params=params, page=number)
            where = f"GET {redact(url)} (page {number})"
            if not isinstance(body, dict) or not isinstance(body.get("Invoices"), list):
                raise ResponseFormatError(
                    f"impact.com: expected an object with an `Invoices` list from {where}",
                    network="impact",
                )
            yield number, body["Invoices"]
            next_uri = str(body.get("@nextpageuri") or "").strip()
            if not next_uri:
                break
            if not same_origin(client, next_uri):
                raise PaginationError(
                    f"impact.com: @nextpageuri {redact(next_uri)!r} leaves "
                    f"{client.http.base_url}; refusing to follow",
                    network="impact",
                )
            url, params = next_uris.advance(next_uri), None


def fetch_withdrawal_settings(client: ApiClient, account_sid: str) -> Any:
    """The WithdrawalSettings object (also accepted wrapped in a `WithdrawalSettings` key)."""
    body = client.get_json(WITHDRAWAL_PATH.format(account_sid=account_sid))
    if isinstance(body, dict) and isinstance(body.get("WithdrawalSettings"), dict):
        return body["WithdrawalSettings"]
    return body


def pull_impact_payments(
    settings: ImpactSettings,
    *,
    start: datetime,
    end: datetime,
    client: ApiClient | None = None,
    **_: Any,
) -> PaymentsPull:
    """Every invoice created from a year before `end` (or `start`, if earlier), and the
    withdrawal settings. A malformed invoice or setting is a reject, not a failure."""
    sid, account = settings.credential("account_sid"), settings.ledger_account()
    pull = PaymentsPull("impact", account)
    api = client or make_impact_client(settings)
    try:
        since = min(start, end - INVOICE_LOOKBACK)
        for number, invoices in fetch_invoices(api, sid, since, end, page_size=settings.page_size):
            page = validate_invoices(invoices, account=account, page=number)
            pull.batch.merge(page)
            pull.items_for |= {p.payment_id for p in page.payments}
        try:
            body = fetch_withdrawal_settings(api, sid)
            pull.setting = validate_withdrawal_settings(body, account=account)
        except AuthError:
            raise
        except ApiError as error:
            # Without them the invoices still count; the forecast then has no FIXED_DAY.
            log.warning("impact.com: no WithdrawalSettings: %s", error)
        except ValueError as error:
            pull.batch.rejects.append(_settings_reject(body, str(error)))
    finally:
        if client is None:
            api.close()
    log.info(
        "impact.com: %d invoices, %d line items", len(pull.batch.payments), len(pull.batch.items)
    )
    return pull


def _settings_reject(body: Any, reason: str) -> Reject:
    raw = json.dumps(body, default=str)
    return Reject(locator="WithdrawalSettings", raw=raw, reasons=(reason,))


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


def pull_awin_payments(
    settings: AwinSettings,
    *,
    client: ApiClient | None = None,
    settled: Collection[str] = (),
    **_: Any,
) -> PaymentsPull:
    """Every payment (newest first), and the breakdowns of those not `settled` (paid payments
    whose items the ledger already holds: they do not change, and Awin allows 20 calls a
    minute). A 403 names the Full Access role the payments API needs."""
    publisher, account = settings.credential("publisher_id"), settings.ledger_account()
    pull = PaymentsPull("awin", account)
    api = client or token_client(settings, network=AWIN)
    explain = _full_access(publisher)
    try:
        prefix = AWIN_PUBLIC
        try:
            pages = list(fetch_awin_paged(api, prefix + _awin_payments(publisher), "payments"))
        except ApiError as error:
            # A stand-in that serves the API's paths without the /public prefix (as one
            # behind a base URL ending in /public would): read those paths instead.
            if error.status_code != 404:
                raise
            prefix = ""
            pages = list(fetch_awin_paged(api, _awin_payments(publisher), "payments"))
        for number, records in pages:
            pull.batch.merge(validate_awin_payments(records, account=account, page=number))
        for payment in pull.batch.payments:
            if payment.payment_id in settled:
                continue
            path = prefix + AWIN_BREAKDOWNS_PATH.format(
                publisher_id=publisher, payment_id=payment.payment_id
            )
            item = 0
            for number, records in fetch_awin_paged(api, path, "breakdowns"):
                page = validate_awin_breakdowns(
                    records,
                    account=account,
                    payment_id=payment.payment_id,
                    first_item=item,
                    page=number,
                )
                item += len(records)
                pull.batch.extend(page)
            pull.items_for.add(payment.payment_id)
    except AuthError as error:
        raise explain(error) from None
    finally:
        if client is None:
            api.close()
    log.info("Awin: %d payments, %d breakdowns", len(pull.batch.payments), len(pull.batch.items))
    return pull


PaymentsSource = Callable[..., PaymentsPull]
PAYMENT_SOURCES: dict[str, PaymentsSource] = {
    "impact": pull_impact_payments,
    "awin": pull_awin_payments,
}
"""Networks with a payments API; CJ and Amazon have none (affiliate-formats.md §10.3-10.4)."""


def pull_payments(network: str, settings: NetworkSettings, **options: Any) -> PaymentsPull | None:
    """The network's payments, or None when it has no payments API."""
    source = PAYMENT_SOURCES.get(network)
    return None if source is None else source(settings, **options)
