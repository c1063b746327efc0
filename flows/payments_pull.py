"""Payments pulls: the raw pages of connectors.payments validated by schemas.payments.

As flows/pull_loop.py does for commissions, this is where the payments connector and its
schema meet; the connector never sees a model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors import payments as raw
from connectors.awin import API as AWIN
from connectors.errors import ApiError, AuthError
from connectors.http import ApiClient
from connectors.impact import API as IMPACT
from connectors.settings import AwinSettings, ImpactSettings, NetworkSettings
from connectors.stream import Stream
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


@dataclass
class PaymentsPull:
    """What one payments pull read: payments and items, the payments whose items were read in
    full (only theirs are replaced), and the account's payout setting if the network has one."""

    network: str
    account: str
    batch: PaymentBatch = field(default_factory=PaymentBatch)
    items_for: set[str] = field(default_factory=set)
    setting: PayoutSettingRow | None = None


def _client(stream: Stream[Any], settings: NetworkSettings, client: ApiClient | None) -> ApiClient:
    return client or stream.make_client(settings)


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
    # The SID is in every path; the ledger files the payments under the account's name.
    sid, account = settings.credential(IMPACT.account_setting), IMPACT.account(settings)
    pull = PaymentsPull("impact", account)
    api = _client(IMPACT, settings, client)
    try:
        for number, invoices in raw.fetch_impact_invoices(api, settings, start, end):
            page = validate_invoices(invoices, account=account, page=number)
            pull.batch.merge(page)
            pull.items_for |= {p.payment_id for p in page.payments}
        try:
            body = raw.fetch_withdrawal_settings(api, sid)
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
    text = json.dumps(body, default=str)
    return Reject(locator="WithdrawalSettings", raw=text, reasons=(reason,))


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
    # The publisher id is in every path; the ledger files the payments under the account's name.
    publisher, account = settings.credential(AWIN.account_setting), AWIN.account(settings)
    pull = PaymentsPull("awin", account)
    api = _client(AWIN, settings, client)
    try:
        prefix, pages = raw.fetch_awin_payments(api, publisher)
        for number, records in pages:
            pull.batch.merge(validate_awin_payments(records, account=account, page=number))
        for payment in pull.batch.payments:
            if payment.payment_id in settled:
                continue
            item = 0
            for number, records in raw.fetch_awin_breakdowns(
                api, publisher, payment.payment_id, prefix=prefix
            ):
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
"""Networks with a payments API (connectors.payments.PAYMENT_NETWORKS)."""
assert tuple(PAYMENT_SOURCES) == raw.PAYMENT_NETWORKS, "one pull per payments API"


def pull_payments(network: str, settings: NetworkSettings, **options: Any) -> PaymentsPull | None:
    """The network's payments, or None when it has no payments API."""
    source = PAYMENT_SOURCES.get(network)
    return None if source is None else source(settings, **options)
