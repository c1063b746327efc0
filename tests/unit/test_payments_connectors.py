"""Awin payments connector: limit/offset paging to a short page, the offset ceiling, settled
payments' breakdowns skipped, and the path without /public when a stand-in serves it so."""

from __future__ import annotations

import json

import httpx

from connectors.awin import API as AWIN
from connectors.http import ManualClock
from connectors.payments import AWIN_LIMIT
from connectors.settings import AwinSettings
from flows.payments_pull import pull_awin_payments

TOKEN, PUBLISHER = "awin-personal-token-abcdef123456", "77777"


def settings() -> AwinSettings:
    return AwinSettings(
        _env_file=None, token=TOKEN, publisher_id=PUBLISHER, base_url="https://awin.test"
    )


def payment(n: int) -> dict[str, object]:
    return {"paymentId": str(n), "processingDate": "2026-11-01", "amount": "1.00",
            "currency": "GBP"}  # fmt: skip


def test_payments_are_read_page_by_page_until_a_short_page() -> None:
    seen: list[httpx.Request] = []
    total = AWIN_LIMIT + 7

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/breakdowns"):
            return httpx.Response(200, json={"results": []})
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        rows = [payment(n) for n in range(offset, min(total, offset + limit))]
        return httpx.Response(200, content=json.dumps({"results": rows}).encode())

    api = AWIN.make_client(settings(), clock=ManualClock(), transport=httpx.MockTransport(handler))
    settled = {str(n) for n in range(total - 1)}
    pulled = pull_awin_payments(settings(), client=api, settled=settled)
    listing = [r for r in seen if r.url.path == f"/public/v1/publishers/{PUBLISHER}/payments"]
    assert [r.url.params["offset"] for r in listing] == ["0", str(AWIN_LIMIT)]
    assert all(r.url.params["limit"] == str(AWIN_LIMIT) for r in listing)
    assert len(pulled.batch.payments) == total
    # Only the one payment not yet settled has its breakdowns read.
    breakdowns = [r.url.path for r in seen if r.url.path.endswith("/breakdowns")]
    assert breakdowns == [f"/public/v1/publishers/{PUBLISHER}/payments/{total - 1}/breakdowns"]
    assert pulled.items_for == {str(total - 1)}


def test_a_404_on_the_public_path_falls_back_to_the_path_without_it() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.startswith("/public/"):
            return httpx.Response(404, json={"error": "Not Found"})
        if request.url.path.endswith("/breakdowns"):
            return httpx.Response(200, json={"results": [{"advertiserId": 1, "payment": "1.00"}]})
        return httpx.Response(200, content=json.dumps({"results": [payment(5)]}).encode())

    api = AWIN.make_client(settings(), clock=ManualClock(), transport=httpx.MockTransport(handler))
    pulled = pull_awin_payments(settings(), client=api)
    assert seen == [
        f"/public/v1/publishers/{PUBLISHER}/payments",
        f"/v1/publishers/{PUBLISHER}/payments",
        f"/v1/publishers/{PUBLISHER}/payments/5/breakdowns",
    ]
    assert [i.program for i in pulled.batch.items] == ["1"]
