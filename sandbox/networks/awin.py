"""Awin Publisher API emulation: GET /publishers/{publisherId}/transactions/ (reference §4)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request, Response

from sandbox.dataset import AWIN_TIMEZONES, AwinTransaction, Dataset, render_awin_transaction
from sandbox.networks import SANDBOX_AWIN_TOKEN, SandboxState, serve

MAX_WINDOW = timedelta(days=31)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
STATUSES = frozenset({"pending", "approved", "declined", "deleted"})
DATE_TYPES = frozenset({"transaction", "validation"})


class AwinError(Exception):
    """A request error; Awin's exact error body is [unverified] (reference §8)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        """The error as `{"error": …, "description": …}`."""
        body = json.dumps({"error": self.error, "description": self.description})
        return Response(body, status_code=self.status, media_type="application/json")


def _check_auth(request: Request, publisher_id: str, state: SandboxState) -> int:
    """The number of the publisher account the token may read (0: the default account)."""
    # The personal OAuth2 token goes in `Authorization: Bearer` or the `accessToken`
    # query parameter (reference §4).
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        token = request.query_params.get("accessToken", "")
    if not token:
        raise AwinError(401, "Unauthorized", "Missing access token")
    if token.strip() != SANDBOX_AWIN_TOKEN:
        raise AwinError(401, "Unauthorized", "Invalid access token")
    number = state.account_number("awin", publisher_id)
    if number is None:
        # The token works for the accounts its user can access, and only those (§4).
        raise AwinError(403, "Forbidden", f"No access to publisher {publisher_id}")
    return number


def _parse_local(value: str | None, key: str, zone: ZoneInfo | None) -> int:
    if not value:
        raise AwinError(400, "Bad Request", f"{key} is mandatory (format yyyy-MM-ddTHH:mm:ss)")
    if _DATE_RE.fullmatch(value) is None:
        raise AwinError(400, "Bad Request", f"{key} must be formatted yyyy-MM-ddTHH:mm:ss")
    try:
        # The naive value is read in the requested timezone (§4).
        local = datetime.fromisoformat(value).replace(tzinfo=zone or UTC)
    except ValueError as exc:
        raise AwinError(400, "Bad Request", f"{key} is not a valid date-time") from exc
    return int(local.timestamp())


def _timezone(request: Request) -> tuple[str, ZoneInfo | None]:
    tz = request.query_params.get("timezone")
    if not tz:
        raise AwinError(400, "Bad Request", "timezone is mandatory")
    if tz not in AWIN_TIMEZONES:
        allowed = ", ".join(sorted(AWIN_TIMEZONES))
        raise AwinError(
            400, "Bad Request", f"timezone {tz!r} is not supported; use one of {allowed}"
        )
    return tz, None if tz == "UTC" else ZoneInfo(tz)


def _flag(request: Request, key: str) -> bool:
    return request.query_params.get(key, "").lower() == "true"


def _id_list(raw: str, key: str) -> set[int]:
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError as exc:
        raise AwinError(400, "Bad Request", f"{key} must be a comma-separated list of ids") from exc


def _select(dataset: Dataset, request: Request) -> tuple[list[AwinTransaction], str]:
    params = request.query_params
    tz, zone = _timezone(request)
    txns = dataset.awin
    ids_raw = params.get("ids")
    if ids_raw:
        # The by-ID form (`?ids=1,2&timezone=UTC`) needs no dates (§4).
        wanted = _id_list(ids_raw, "ids")
        return [t for t in txns if t.id in wanted], tz
    start = _parse_local(params.get("startDate"), "startDate", zone)
    end = _parse_local(params.get("endDate"), "endDate", zone)
    if end < start:
        raise AwinError(400, "Bad Request", "endDate must not be before startDate")
    if end - start > MAX_WINDOW.total_seconds():
        raise AwinError(
            400,
            "Bad Request",
            "The maximum date range between startDate and endDate currently supported is 31 days",
        )
    date_type = params.get("dateType") or "transaction"
    if date_type not in DATE_TYPES:
        raise AwinError(400, "Bad Request", "dateType must be transaction or validation")
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise AwinError(400, "Bad Request", f"status must be one of {', '.join(sorted(STATUSES))}")
    advertisers = (
        _id_list(params["advertiserId"], "advertiserId") if params.get("advertiserId") else None
    )
    out: list[AwinTransaction] = []
    # Both ends inclusive: the documented examples use ...T00:00:00 to ...T23:59:59 windows
    # [unverified boundary semantics].
    for t in txns:
        when = t.transaction_ts if date_type == "transaction" else t.validation_ts
        if when is None or when < start or when > end:
            continue
        if status is not None and t.status != status:
            continue
        if advertisers is not None and t.advertiser.advertiser_id not in advertisers:
            continue
        out.append(t)
    return out, tz


def list_transactions(state: SandboxState, publisher_id: str, request: Request) -> Response:
    """Answer one transactions request (the caller holds the state lock)."""
    try:
        number = _check_auth(request, publisher_id, state)
        selected, tz = _select(state.dataset_for(number), request)
    except AwinError as err:
        return err.response()
    basket = _flag(request, "showBasketProducts")
    # A bare JSON array with no paging envelope; money as exact JSON numbers (§4).
    body = "[" + ",".join(render_awin_transaction(t, tz, basket) for t in selected) + "]"
    return Response(body.encode(), media_type="application/json")


def register(app: FastAPI, state: SandboxState) -> None:
    """Add the Awin routes to `app` (with and without the trailing slash, so no redirect)."""

    async def transactions(publisher_id: str, request: Request) -> Response:
        return await serve(
            state, "awin", request, lambda _entry: list_transactions(state, publisher_id, request)
        )

    app.add_api_route("/publishers/{publisher_id}/transactions/", transactions, methods=["GET"])
    app.add_api_route("/publishers/{publisher_id}/transactions", transactions, methods=["GET"])
