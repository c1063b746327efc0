"""Payments emulation: impact.com Invoices and WithdrawalSettings, Awin payments and breakdowns,
generated from the sandbox's own transactions so they agree with what the ledger pulls."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request, Response

from sandbox.dataset import (
    IMPACT_TZ,
    AwinTransaction,
    Dataset,
    ImpactAction,
    awin_payment_day,
    dumps_decimal_numbers,
    impact_ts,
)
from sandbox.networks import SandboxState, serve
from sandbox.networks import awin as awin_api
from sandbox.networks import impact as impact_api

AWIN_MAX_LIMIT = 100
AWIN_MAX_OFFSET = 10_000


def _local_day(ts: int) -> date:
    return datetime.fromtimestamp(ts, IMPACT_TZ).date()


def _next_15th(day: date) -> date:
    """The first 15th after `day` (the sandbox account is paid FIXED_DAY 15)."""
    if day.day < 15:
        return day.replace(day=15)
    return (day.replace(day=1) + timedelta(days=32)).replace(day=15)


@dataclass(frozen=True)
class Invoice:
    """One generated impact.com invoice and the epoch second it was created."""

    created_ts: int
    body: dict[str, Any]


_INVOICES: dict[tuple[int, int, int], list[Invoice]] = {}


def impact_invoices(dataset: Dataset) -> list[Invoice]:
    """impact_invoices_of(dataset), built once per dataset state (a pull asks a year of
    45-day windows, and building walks every action)."""
    key = (id(dataset), dataset.version, dataset.now_ts)
    if key not in _INVOICES:
        _INVOICES.clear()
        _INVOICES[key] = impact_invoices_of(dataset)
    return _INVOICES[key]


def impact_invoices_of(dataset: Dataset) -> list[Invoice]:
    """One invoice per currency and locking month of the locked actions, newest first; one
    line item per campaign, event month and whether the actions have cleared (PAID with the
    day they cleared) or not (PENDING, due the first 15th after they lock)."""
    groups: dict[tuple[str, date], dict[tuple[int, date, bool], list[ImpactAction]]] = defaultdict(
        lambda: defaultdict(list)
    )
    now = dataset.now_ts
    for action in dataset.impact:
        # An action is invoiced once it has locked (approved actions may lock later).
        if action.state != "APPROVED" or action.locking_ts > now:
            continue
        lock_month = _local_day(action.locking_ts).replace(day=1)
        key = (action.campaign.campaign_id, _local_day(action.event_ts).replace(day=1))
        groups[(action.campaign.currency, lock_month)][(*key, action.cleared)].append(action)
    invoices = []
    for (currency, lock_month), lines in groups.items():
        items = []
        for (campaign_id, event_month, cleared), actions in sorted(lines.items()):
            cleared_days = [_local_day(a.cleared_ts) for a in actions if a.cleared_ts is not None]
            total = sum((a.payout for a in actions), Decimal("0.00"))
            items.append(
                {
                    "CampaignId": str(campaign_id),
                    "Description": "MEDIA_PAYOUT",
                    "EventMonthYear": f"{event_month.month}{event_month.year}",
                    "Actions": str(len(actions)),
                    "NetItemAmount": str(total),
                    "VatItemAmount": "0.00",
                    "TotalItemAmount": str(total),
                    "Status": "PAID" if cleared else "PENDING",
                    "DueDate": _next_15th(
                        max(_local_day(a.locking_ts) for a in actions)
                    ).isoformat(),
                    "PaidDate": max(cleared_days).isoformat() if cleared else "",
                }
            )
        created = max(a.locking_ts for actions in lines.values() for a in actions)
        total = sum((Decimal(item["TotalItemAmount"]) for item in items), Decimal("0.00"))
        currency_code = {"USD": 1, "EUR": 2, "GBP": 3}[currency]
        body = {
            "Id": f"{lock_month:%Y%m}{currency_code}-1",
            "CreatedDate": impact_ts(created),
            "Currency": currency,
            "TotalAmount": str(total),
            "TotalVatAmount": "0.00",
            "LineItems": items,
            "DetailedLineItems": [],
        }
        invoices.append(Invoice(created, body))
    invoices.sort(key=lambda invoice: invoice.created_ts, reverse=True)
    return invoices


def list_invoices(state: SandboxState, account_sid: str, request: Request) -> Response:
    """Invoices created in [StartDate, EndDate) (at most 45 days), paged like Actions."""
    params = dict(request.query_params)
    try:
        number = impact_api._check_auth(request, account_sid, state)
        start = impact_api._parse_when(params.get("StartDate") or "", "StartDate")
        end = impact_api._parse_when(params.get("EndDate") or "", "EndDate")
        if end - start > impact_api.MAX_WINDOW:
            raise impact_api.ImpactError(
                400, "StartDate and EndDate may be at most 45 days apart", "EndDate"
            )
        page_size = impact_api._int_param(params, "PageSize", 100, 1, impact_api.MAX_PAGE_SIZE)
        page = impact_api._int_param(params, "Page", 1, 1, 10**9)
    except impact_api.ImpactError as err:
        return err.response()
    lo, hi = int(start.timestamp()), int(end.timestamp())
    dataset = state.dataset_for(number)
    matched = [i.body for i in impact_invoices(dataset) if lo <= i.created_ts < hi]
    pages = max(1, math.ceil(len(matched) / page_size))
    chunk = matched[(page - 1) * page_size : page * page_size]
    items = [(k, v) for k, v in request.query_params.multi_items()]
    path = request.url.path
    meta = {
        "@page": str(page),
        "@numpages": str(pages),
        "@pagesize": str(page_size),
        "@total": str(len(matched)),
        "@nextpageuri": impact_api._page_uri(path, items, page + 1) if page < pages else "",
    }
    return Response(json.dumps({**meta, "Invoices": chunk}), media_type="application/json")


def withdrawal_settings(state: SandboxState, account_sid: str, request: Request) -> Response:
    """The account's WithdrawalSettings (FIXED_DAY 15 unless a test set others)."""
    try:
        impact_api._check_auth(request, account_sid, state)
    except impact_api.ImpactError as err:
        return err.response()
    return Response(json.dumps(state.impact_withdrawal), media_type="application/json")


def awin_payments(dataset: Dataset) -> list[tuple[dict[str, Any], list[AwinTransaction]]]:
    """One payment per paymentId of the paid transactions (a payment run and currency), dated
    on its run's day (or the dataset's today, if that is still ahead), newest first."""
    by_id: dict[int, list[AwinTransaction]] = defaultdict(list)
    for txn in dataset.awin:
        if txn.paid and txn.payment_id:
            by_id[txn.payment_id].append(txn)
    today = dataset.phase_time().date()
    out = []
    for payment_id, txns in by_id.items():
        run_day = min(awin_payment_day(t.validation_ts or 0) for t in txns)
        body = {
            "paymentId": str(payment_id),
            "processingDate": min(run_day, today).isoformat(),
            "amount": {
                "amount": sum((t.commission for t in txns), Decimal("0.00")),
                "currency": txns[0].currency,
            },
        }
        out.append((body, txns))
    out.sort(key=lambda p: (p[0]["processingDate"], p[0]["paymentId"]), reverse=True)
    return out


def _awin_page(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", "25"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError as exc:
        raise awin_api.AwinError(400, "Bad Request", "limit and offset are integers") from exc
    if not 1 <= limit <= AWIN_MAX_LIMIT:
        raise awin_api.AwinError(400, "Bad Request", "limit must be between 1 and 100")
    if not 0 <= offset <= AWIN_MAX_OFFSET:
        raise awin_api.AwinError(400, "Bad Request", "offset must be between 0 and 10000")
    return limit, offset


def _awin_check(
    state: SandboxState, request: Request, publisher_id: str
) -> tuple[int, int, Dataset]:
    number = awin_api._check_auth(request, publisher_id, state)
    if not state.awin_full_access:
        raise awin_api.AwinError(
            403, "Forbidden", "The user needs at least the Full Access role on the account"
        )
    return (*_awin_page(request), state.dataset_for(number))


def list_awin_payments(state: SandboxState, publisher_id: str, request: Request) -> Response:
    """A page of payments, newest first, as `{"results": [...]}`."""
    try:
        limit, offset, dataset = _awin_check(state, request, publisher_id)
    except awin_api.AwinError as err:
        return err.response()
    payments = [body for body, _ in awin_payments(dataset)]
    body = {"results": payments[offset : offset + limit], "limit": limit, "offset": offset}
    return Response(dumps_decimal_numbers(body), media_type="application/json")


def list_awin_breakdowns(
    state: SandboxState, publisher_id: str, payment_id: str, request: Request
) -> Response:
    """A page of one payment's net amounts per advertiser, largest first."""
    try:
        limit, offset, dataset = _awin_check(state, request, publisher_id)
    except awin_api.AwinError as err:
        return err.response()
    found = [txns for body, txns in awin_payments(dataset) if body["paymentId"] == payment_id]
    if not found:
        return awin_api.AwinError(404, "Not Found", f"No payment {payment_id}").response()
    per: dict[int, tuple[str, Decimal, str]] = {}
    for txn in found[0]:
        name, total, currency = per.get(txn.advertiser.advertiser_id, (txn.advertiser.name,
                                        Decimal("0.00"), txn.currency))  # fmt: skip
        per[txn.advertiser.advertiser_id] = (name, total + txn.commission, currency)
    rows = sorted(per.items(), key=lambda kv: (-kv[1][1], kv[0]))
    results = [
        {"advertiserId": aid, "advertiserName": name, "payment": {"amount": amount,
         "currency": currency}}
        for aid, (name, amount, currency) in rows
    ]  # fmt: skip
    body = {"results": results[offset : offset + limit], "limit": limit, "offset": offset}
    return Response(dumps_decimal_numbers(body), media_type="application/json")


def register(app: FastAPI, state: SandboxState) -> None:
    """Add the payments routes to `app`."""

    @app.get("/Mediapartners/{account_sid}/Invoices")
    async def invoices(account_sid: str, request: Request) -> Response:
        return await serve(
            state, "impact", request, lambda _e: list_invoices(state, account_sid, request)
        )

    @app.get("/Mediapartners/{account_sid}/WithdrawalSettings")
    async def withdrawal(account_sid: str, request: Request) -> Response:
        return await serve(
            state, "impact", request, lambda _e: withdrawal_settings(state, account_sid, request)
        )

    @app.get("/public/v1/publishers/{publisher_id}/payments")
    async def payments(publisher_id: str, request: Request) -> Response:
        return await serve(
            state, "awin", request, lambda _e: list_awin_payments(state, publisher_id, request)
        )

    @app.get("/public/v1/publishers/{publisher_id}/payments/{payment_id}/breakdowns")
    async def breakdowns(publisher_id: str, payment_id: str, request: Request) -> Response:
        return await serve(
            state,
            "awin",
            request,
            lambda _e: list_awin_breakdowns(state, publisher_id, payment_id, request),
        )
