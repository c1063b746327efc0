"""impact.com Partner API emulation: GET /Mediapartners/{AccountSID}/Actions (reference §2)."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request, Response

from sandbox.dataset import ImpactAction, render_impact_action
from sandbox.networks import SandboxState, sandbox_account, serve

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 20_000
MAX_WINDOW = timedelta(days=45)
DEFAULT_WINDOW = timedelta(days=7)
STATES = ("PENDING", "APPROVED", "REVERSED")

# (start, end) epoch bounds per filtered timestamp; None = unbounded on that side.
Bounds = tuple[int | None, int | None]


class ImpactError(Exception):
    """A request error rendered as impact.com's error body."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def response(self, headers: dict[str, str] | None = None) -> Response:
        """The error as `{"Status":"ERROR","Message":…,"Errors":[{"Field","Message"}]}` (§2)."""
        body: dict[str, object] = {"Status": "ERROR", "Message": self.message}
        if self.field is not None:
            body["Errors"] = [{"Field": self.field, "Message": self.message}]
        return Response(
            json.dumps(body),
            status_code=self.status,
            headers=headers,
            media_type="application/json",
        )


def _check_auth(request: Request, account_sid: str, state: SandboxState) -> int:
    """The number of the account the Basic credentials open (0: the default account)."""
    # HTTP Basic: username = AccountSID, password = AuthToken (reference §2).
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise ImpactError(401, "Authentication required: HTTP Basic with AccountSID and AuthToken")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ImpactError(401, "Malformed Basic credentials") from exc
    number = state.account_number("impact", user)
    if number is None or password != sandbox_account("impact", number).token:
        raise ImpactError(401, "Invalid AccountSID or AuthToken")
    if account_sid != user:
        raise ImpactError(403, f"Access denied to account {account_sid}")
    return number


def _parse_when(value: str, field: str) -> datetime:
    """ISO 8601 date or date-time; a missing offset is read as UTC [unverified: Impact may use
    the account time zone]."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ImpactError(400, f"{field} must be an ISO 8601 date or date-time", field) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _pair(
    params: dict[str, str], start_key: str, end_key: str, *, paired: bool, limit: timedelta | None
) -> tuple[datetime | None, datetime | None]:
    start = _parse_when(params[start_key], start_key) if params.get(start_key) else None
    end = _parse_when(params[end_key], end_key) if params.get(end_key) else None
    if paired and (start is None) != (end is None):
        missing = end_key if end is None else start_key
        raise ImpactError(400, f"{start_key} and {end_key} must be given together", missing)
    if start is not None and end is not None:
        if end < start:
            raise ImpactError(400, f"{end_key} must not be before {start_key}", end_key)
        if limit is not None and end - start > limit:
            raise ImpactError(
                400,
                f"The date range between {start_key} and {end_key} may be at most "
                f"{limit.days} days apart",
                end_key,
            )
    return start, end


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _three_years_before(now: datetime) -> datetime:
    try:
        return now.replace(year=now.year - 3)
    except ValueError:  # 29 February
        return now.replace(year=now.year - 3, day=28)


class _FilterCache:
    """Remembers the last few filtered id lists so paging through one query filters once."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[object, ...], list[ImpactAction]] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> list[ImpactAction] | None:
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
        return hit

    def put(self, key: tuple[object, ...], value: list[ImpactAction]) -> None:
        self.entries[key] = value
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


def _filter(
    actions: list[ImpactAction],
    updated: Bounds,
    event: Bounds,
    locking: Bounds,
    state: str | None,
    campaign_id: int | None,
) -> list[ImpactAction]:
    # Windows are start-inclusive and end-exclusive [unverified: the reference does not say],
    # so adjacent windows partition the data.
    u_lo, u_hi = updated
    e_lo, e_hi = event
    l_lo, l_hi = locking
    out: list[ImpactAction] = []
    append = out.append
    for a in actions:
        if u_lo is not None and a.updated_ts < u_lo:
            continue
        if u_hi is not None and a.updated_ts >= u_hi:
            continue
        if e_lo is not None and a.event_ts < e_lo:
            continue
        if e_hi is not None and a.event_ts >= e_hi:
            continue
        if l_lo is not None and a.locking_ts < l_lo:
            continue
        if l_hi is not None and a.locking_ts >= l_hi:
            continue
        if state is not None and a.state != state:
            continue
        if campaign_id is not None and a.campaign.campaign_id != campaign_id:
            continue
        append(a)
    return out


def _page_uri(path: str, items: list[tuple[str, str]], page: int) -> str:
    query = [(k, v) for k, v in items if k != "Page"] + [("Page", str(page))]
    return f"{path}?{urlencode(query, quote_via=quote, safe=':')}"


def _int_param(params: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImpactError(400, f"{key} must be an integer", key) from exc
    if not low <= value <= high:
        raise ImpactError(400, f"{key} must be between {low} and {high}", key)
    return value


def list_actions(
    state: SandboxState, cache: _FilterCache, account_sid: str, request: Request
) -> Response:
    """Answer one Actions request (the caller holds the state lock)."""
    rate_headers = state.impact_rate_headers(account_sid)
    try:
        number = _check_auth(request, account_sid, state)
        accept = request.headers.get("accept", "")
        if "xml" in accept.lower() and "json" not in accept.lower():
            # Legacy endpoints default to XML (§2); the sandbox only speaks JSON.
            raise ImpactError(406, "Only application/json is supported by the sandbox")
        items = list(request.query_params.multi_items())
        params = dict(items)
        now = state.clock()
        start, end = _pair(params, "StartDate", "EndDate", paired=True, limit=MAX_WINDOW)
        if start is not None and start < _three_years_before(now):
            raise ImpactError(400, "StartDate may be at most 3 years in the past", "StartDate")
        ev_start, ev_end = _pair(
            params, "ActionDateStart", "ActionDateEnd", paired=False, limit=None
        )
        lk_start, lk_end = _pair(
            params, "LockingDateStart", "LockingDateEnd", paired=True, limit=MAX_WINDOW
        )
        if all(x is None for x in (start, end, ev_start, ev_end, lk_start, lk_end)):
            # "With no dates given, only the last 7 days are returned" (§2).
            start, end = now - DEFAULT_WINDOW, now + timedelta(seconds=1)
        action_state = params.get("State") or None
        if action_state is not None:
            action_state = action_state.upper()
            if action_state not in STATES:
                raise ImpactError(400, f"State must be one of {', '.join(STATES)}", "State")
        campaign_raw = params.get("CampaignId") or None
        try:
            campaign_id = int(campaign_raw) if campaign_raw is not None else None
        except ValueError as exc:
            raise ImpactError(400, "CampaignId must be an integer", "CampaignId") from exc
        page_size = _int_param(params, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        page = _int_param(params, "Page", 1, 1, 10**9)
    except ImpactError as err:
        headers = dict(rate_headers)
        if err.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="impact.com"'
        return err.response(headers)

    updated: Bounds = (_ts(start), _ts(end))
    event: Bounds = (_ts(ev_start), _ts(ev_end))
    locking: Bounds = (_ts(lk_start), _ts(lk_end))
    dataset = state.dataset_for(number)
    key = (id(dataset), dataset.version, updated, event, locking, action_state, campaign_id)
    matched = cache.get(key)
    if matched is None:
        matched = _filter(dataset.impact, updated, event, locking, action_state, campaign_id)
        cache.put(key, matched)

    total = len(matched)
    num_pages = math.ceil(total / page_size)
    first = (page - 1) * page_size
    chunk = matched[first : first + page_size]
    path = request.url.path
    meta = {
        "@page": str(page),
        "@numpages": str(num_pages),
        "@pagesize": str(page_size),
        "@total": str(total),
        "@start": str(first),
        "@end": str(first + len(chunk) - 1 if chunk else first),
        "@uri": _page_uri(path, items, page),
        "@firstpageuri": _page_uri(path, items, 1),
        "@previouspageuri": _page_uri(path, items, page - 1) if page > 1 else "",
        # A path relative to the base URL, empty on the last page (reference §2, §8).
        "@nextpageuri": _page_uri(path, items, page + 1) if page < num_pages else "",
        "@lastpageuri": _page_uri(path, items, max(1, num_pages)),
    }
    # The metadata is small; the actions are pre-rendered JSON spliced in without re-encoding.
    head = json.dumps(meta, separators=(",", ":"))[:-1]
    body = "".join((head, ',"Actions":[', ",".join(map(render_impact_action, chunk)), "]}"))
    return Response(body.encode(), headers=rate_headers, media_type="application/json")


def register(app: FastAPI, state: SandboxState) -> None:
    """Add the Impact routes to `app`."""
    cache = _FilterCache()

    @app.get("/Mediapartners/{account_sid}/Actions")
    async def actions(account_sid: str, request: Request) -> Response:
        return await serve(
            state,
            "impact",
            request,
            lambda _entry: list_actions(state, cache, account_sid, request),
        )
