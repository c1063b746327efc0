"""impact.com connector: paging, windows, settings, raw model and mapping."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import DateWindow, split_windows
from connectors.http import (
    AuthError,
    ManualClock,
    PaginationError,
    ResponseFormatError,
    SettingsError,
)
from connectors.impact import API, fetch_actions, make_impact_client, plan_windows
from connectors.settings import ImpactSettings
from flows import pull_loop
from schemas.impact import ImpactAction, to_commission_line, validate_page

FIXTURES = Path(__file__).parents[1] / "fixtures" / "impact"
SID, TOKEN = "IRxSID123", "impact-auth-token-0123456789"
WINDOW = DateWindow(datetime(2024, 9, 1, tzinfo=UTC), datetime(2024, 10, 1, tzinfo=UTC))


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def settings(**overrides) -> ImpactSettings:
    values = {"account_sid": SID, "auth_token": TOKEN, "base_url": "https://impact.test"}
    return ImpactSettings(_env_file=None, **{**values, **overrides})


def serve(*bodies: object, status: int = 200) -> tuple[Callable, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = queue.pop(0)
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(status, json=body)

    return handler, seen


def client(handler, clock: ManualClock | None = None):
    return make_impact_client(
        settings(), clock=clock or ManualClock(), transport=httpx.MockTransport(handler)
    )


def test_paginator_follows_nextpageuri_across_two_pages():
    handler, seen = serve(load("actions_page1.json"), load("actions_page2.json"))
    pages = list(fetch_actions(client(handler), settings(), WINDOW))
    assert [p.number for p in pages] == [1, 2]
    assert [p.size for p in pages] == [2, 1]  # validated in one pass, so no raw records
    first, second = seen
    assert first.url.path == f"/Mediapartners/{SID}/Actions"
    assert dict(first.url.params) == {
        "StartDate": "2024-09-01T00:00:00Z",
        "EndDate": "2024-10-01T00:00:00Z",
        "PageSize": "20000",
    }
    next_uri = load("actions_page1.json")["@nextpageuri"]
    assert second.url.raw_path.decode() == next_uri
    assert second.url.host == "impact.test"


def test_requests_send_basic_auth_and_accept_json():
    handler, seen = serve(load("actions_page2.json"))
    list(fetch_actions(client(handler), settings(), WINDOW))
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert seen[0].headers["Authorization"] == f"Basic {expected}"
    assert seen[0].headers["Accept"] == "application/json"


def test_repeated_nextpageuri_is_a_pagination_error_not_a_loop():
    page = load("actions_page1.json")
    handler, seen = serve(page, {**page, "@page": "2"})
    with pytest.raises(PaginationError, match=r"@nextpageuri .* repeated"):
        list(fetch_actions(client(handler), settings(), WINDOW))
    assert len(seen) == 2  # page 2 handed out page 2's link again: stop, do not request it


def test_repeated_page_number_is_a_pagination_error():
    page = load("actions_page1.json")
    again = {**page, "@nextpageuri": page["@nextpageuri"] + "&x=1"}
    handler, _ = serve(page, again)
    with pytest.raises(PaginationError, match="@page '1' repeated"):
        list(fetch_actions(client(handler), settings(), WINDOW))


def test_nextpageuri_to_another_host_is_refused():
    page = {**load("actions_page1.json"), "@nextpageuri": "https://evil.test/steal?Page=2"}
    handler, _ = serve(page)
    with pytest.raises(PaginationError, match="refusing to follow"):
        list(fetch_actions(client(handler), settings(), WINDOW))


def test_truncated_second_page_raises_response_format_error_naming_page_2():
    body = json.dumps(load("actions_page2.json"))[:-40].encode()
    handler, _ = serve(load("actions_page1.json"), httpx.Response(200, content=body))
    with pytest.raises(ResponseFormatError, match=r"\(page 2\)") as caught:
        list(fetch_actions(client(handler), settings(), WINDOW))
    assert "Page=2" in str(caught.value)


def test_answer_without_actions_list_is_a_response_format_error():
    handler, _ = serve({"Status": "OK", "Records": []})
    with pytest.raises(ResponseFormatError, match="no `Actions` list"):
        list(fetch_actions(client(handler), settings(), WINDOW))


def test_401_names_the_settings_and_never_the_token():
    handler, _ = serve(httpx.Response(401, json={"Message": "Invalid credentials"}))
    with pytest.raises(AuthError) as caught:
        list(fetch_actions(client(handler), settings(), WINDOW))
    text = str(caught.value)
    assert text.startswith("impact.com rejected the credentials (401): check")
    assert "PASSIVE_IMPACT_AUTH_TOKEN" in text and TOKEN not in text


def test_429_with_x_ratelimit_reset_waits_then_continues():
    clock = ManualClock()
    limited = httpx.Response(
        429,
        headers={
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "37",
        },
    )
    handler, _ = serve(limited, load("actions_page2.json"))
    pages = list(fetch_actions(client(handler, clock), settings(), WINDOW))
    assert len(pages) == 1 and len(clock.sleeps) == 1
    assert 37.0 <= clock.sleeps[0] <= 37.5  # the server's hint plus at most 0.5 s of jitter


def test_pull_yields_one_validated_batch_per_page_with_running_page_numbers():
    bad = load("actions_page2.json")
    bad["Actions"].append({"Id": "1000.9", "State": "PENDING", "Payout": "abc"})
    handler, seen = serve(load("actions_page1.json"), load("actions_page2.json"), bad)
    start, end = datetime(2024, 8, 1, tzinfo=UTC), datetime(2024, 10, 1, tzinfo=UTC)
    now = datetime(2024, 10, 1, tzinfo=UTC)
    batches = list(pull_loop.pull(API, settings(), start, end, client=client(handler), now=now))
    assert len(seen) == 3  # window 1 (two pages) + window 2 (one page)
    assert [b.records_read for b in batches] == [2, 1, 2]
    assert [len(b.lines) for b in batches] == [2, 1, 1]
    (reject,) = batches[2].rejects
    assert reject.locator == "page 3:1"
    assert json.loads(reject.raw)["Id"] == "1000.9"
    assert any("Payout" in reason for reason in reject.reasons)


def test_pull_without_credentials_names_the_env_vars_before_any_request(monkeypatch):
    monkeypatch.delenv("PASSIVE_IMPACT_AUTH_TOKEN", raising=False)
    handler, seen = serve()
    with pytest.raises(SettingsError, match="PASSIVE_IMPACT_AUTH_TOKEN"):
        pull_loop.pull(
            API, settings(auth_token=None), WINDOW.start, WINDOW.end, client=client(handler)
        )
    assert seen == []


def test_settings_read_prefixed_env_vars_and_hide_the_token(monkeypatch):
    monkeypatch.setenv("PASSIVE_IMPACT_ACCOUNT_SID", "IRenv")
    monkeypatch.setenv("PASSIVE_IMPACT_AUTH_TOKEN", "env-token-abcdef")
    monkeypatch.setenv("PASSIVE_IMPACT_BASE_URL", "http://127.0.0.1:8765/")
    monkeypatch.setenv("PASSIVE_IMPACT_LOOKBACK_DAYS", "30")
    loaded = ImpactSettings(_env_file=None)
    assert (loaded.account_sid, loaded.base_url, loaded.lookback_days) == (
        "IRenv",
        "http://127.0.0.1:8765",
        30,
    )
    assert "env-token-abcdef" not in repr(loaded)
    assert (loaded.max_window_days, loaded.page_size, loaded.rate_limit_requests) == (
        45,
        20000,
        1000,
    )
    # Without passive.toml the ledger's account is the network's name, not the SID (issue 16).
    assert API.account(loaded) == "impact"


@pytest.mark.parametrize(
    "url", ["https://api.impact.com/Mediapartners", "api.impact.com", "https://x.test/?a=1"]
)
def test_base_url_must_be_scheme_and_host_only(url):
    with pytest.raises(ValueError, match="scheme and host only"):
        settings(base_url=url)


def test_max_window_above_the_api_limit_is_refused():
    with pytest.raises(ValueError):
        settings(max_window_days=46)


def test_start_is_clamped_to_three_years_back():
    now = datetime(2025, 6, 1, tzinfo=UTC)
    windows = plan_windows(now - timedelta(days=2000), now, max_days=45, now=now)
    assert windows[0].start >= now - timedelta(days=3 * 365)
    assert windows[-1].end == now
    assert (
        plan_windows(now - timedelta(days=4000), now - timedelta(days=3000), max_days=45, now=now)
        == []
    )


# Hypothesis takes naive bounds and attaches the timezone itself.
aware = st.datetimes(
    min_value=datetime(2015, 1, 1),  # noqa: DTZ001
    max_value=datetime(2035, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(aware, st.integers(min_value=0, max_value=5 * 10**7), st.integers(min_value=1, max_value=45))
def test_windows_never_exceed_the_limit_and_tile_the_range_exactly(start, seconds, max_days):
    end = start + timedelta(seconds=seconds)
    windows = split_windows(start, end, max_days)
    if seconds == 0:
        assert windows == []
        return
    assert windows[0].start == start and windows[-1].end == end
    for window in windows:
        assert timedelta(0) < window.end - window.start <= timedelta(days=max_days)
    for earlier, later in pairwise(windows):
        assert earlier.end == later.start


@pytest.mark.parametrize(
    ("state", "cleared", "status"),
    [
        ("PENDING", "", "pending"),
        ("APPROVED", "", "approved"),
        ("APPROVED", "2024-09-25T00:00:00+02:00", "paid"),
        ("REVERSED", "", "reversed"),
        ("reversed", "", "reversed"),
    ],
)
def test_state_maps_to_ledger_status(state, cleared, status):
    record = {**load("actions_page1.json")["Actions"][0], "State": state, "ClearedDate": cleared}
    line = to_commission_line(ImpactAction.model_validate(record), account=SID)
    assert line.status == status


def test_unknown_state_is_rejected_with_a_reason():
    record = {**load("actions_page1.json")["Actions"][0], "State": "NA"}
    batch = validate_page([record], account=SID, page=1)
    assert batch.lines == [] and "unknown impact.com action state" in batch.rejects[0].reasons[0]


def test_action_maps_to_commission_line_with_exact_money_and_own_offset_date():
    first, second = load("actions_page1.json")["Actions"]
    line = to_commission_line(ImpactAction.model_validate(first), account=SID)
    assert line.line_id == "1000.4636.158133" and line.account == SID
    # 22:42 at -07:00 is already 11 September in UTC; the ledger keeps the reported day.
    assert line.event_date == date(2024, 9, 10)
    assert line.event_at == datetime(2024, 9, 11, 5, 42, 38, tzinfo=UTC)
    assert (line.sale_amount, line.commission_amount, line.currency) == (
        Decimal("250.0000"),
        Decimal("12.5000"),
        "USD",
    )
    assert (line.program, line.tracking_id, line.order_id) == (
        "Acme Outdoor",
        "tent-review",
        "ORD-88121",
    )
    other = to_commission_line(ImpactAction.model_validate(second), account=SID)
    assert other.commission_amount == Decimal("3.125") and other.tracking_id is None


def test_same_id_later_reversed_keeps_the_line_id_with_the_new_state():
    before = validate_page(load("actions_page1.json")["Actions"], account=SID, page=1).lines[0]
    after = validate_page(load("actions_later_reversed.json")["Actions"], account=SID, page=1)
    (line,) = after.lines
    raw = ImpactAction.model_validate(load("actions_later_reversed.json")["Actions"][0])
    assert line.line_id == before.line_id
    assert (before.status, line.status) == ("pending", "reversed")
    assert raw.payout == Decimal("0") and raw.delta_payout == Decimal("-12.50")
    # The line keeps the amount that was reversed, not the zeroed Payout (README).
    assert (line.commission_amount, line.sale_amount) == (Decimal("12.50"), Decimal("250.00"))


@pytest.mark.parametrize("state", ["REVERSED", " reversed "])  # the one-pass and per-model paths
def test_a_reversed_action_keeps_its_intended_payout_and_amount_on_both_paths(state):
    (record,) = load("actions_later_reversed.json")["Actions"]
    batch = validate_page([{**record, "State": state}], account=SID, page=1)
    (line,) = batch.lines
    assert line.status == "reversed"
    assert (line.commission_amount, line.sale_amount) == (Decimal("12.50"), Decimal("250.00"))


def test_a_reversed_action_without_intended_values_keeps_what_it_reports():
    (record,) = load("actions_later_reversed.json")["Actions"]
    for bare in (
        {**record, "IntendedPayout": "", "IntendedAmount": ""},
        {k: v for k, v in record.items() if not k.startswith("Intended")},
    ):
        (line,) = validate_page([bare], account=SID, page=1).lines
        assert (line.commission_amount, line.sale_amount) == (Decimal("0"), Decimal("0"))


def test_only_a_reversed_action_takes_the_intended_values():
    (record,) = load("actions_later_reversed.json")["Actions"]
    modified = {**record, "State": "PENDING", "Payout": "5.00", "Amount": "100.00"}
    (line,) = validate_page([modified], account=SID, page=1).lines
    assert (line.commission_amount, line.sale_amount) == (Decimal("5.00"), Decimal("100.00"))


def test_unknown_fields_are_ignored_and_money_never_accepts_float():
    record = {**load("actions_page2.json")["Actions"][0], "BrandNewField": {"x": 1}}
    assert validate_page([record], account=SID, page=1).lines
    batch = validate_page([{**record, "Payout": 4.8}], account=SID, page=7)
    assert batch.rejects[0].locator == "page 7:0"
    assert "float" in batch.rejects[0].reasons[0]


def test_naive_event_date_is_rejected():
    record = {**load("actions_page2.json")["Actions"][0], "EventDate": "2024-09-15T23:30:00"}
    batch = validate_page([record], account=SID, page=1)
    assert batch.lines == [] and batch.rejects[0].reasons[0].startswith("EventDate")
