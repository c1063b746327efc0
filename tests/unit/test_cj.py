"""CJ connector: GraphQL query shape, payloadComplete paging, restatements, mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connectors.base import DateWindow
from connectors.cj import API, build_query, fetch_commissions
from connectors.http import ApiError, ManualClock, PaginationError, ResponseFormatError
from connectors.settings import CJSettings
from flows import pull_loop
from schemas.cj import CJCommission, to_commission_line, validate_page

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cj"
TOKEN, PUBLISHER = "cj-personal-access-token-xyz987", "5551234"
WINDOW = DateWindow(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC))


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def settings(**overrides) -> CJSettings:
    values = {"token": TOKEN, "publisher_id": PUBLISHER, "base_url": "https://cj.test"}
    return CJSettings(_env_file=None, **{**values, **overrides})


def serve(*bodies: object) -> tuple[Callable, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = queue.pop(0)
        return body if isinstance(body, httpx.Response) else httpx.Response(200, json=body)

    return handler, seen


def client(handler):
    return API.make_client(settings(), clock=ManualClock(), transport=httpx.MockTransport(handler))


def query_of(request: httpx.Request) -> str:
    return json.loads(request.content)["query"]


def test_payload_incomplete_continues_from_max_commission_id_to_the_second_page():
    handler, seen = serve(load("commissions_page1.json"), load("commissions_page2.json"))
    pages = list(fetch_commissions(client(handler), settings(), WINDOW))
    assert [p.number for p in pages] == [1, 2]
    assert [len(p.records) for p in pages] == [2, 3]
    first, second = (query_of(r) for r in seen)
    assert "sinceCommissionId" not in first
    assert 'sinceCommissionId: "2917703001"' in second


def test_request_is_a_post_to_query_with_bearer_token_and_documented_arguments():
    handler, seen = serve(load("commissions_page2.json"))
    list(fetch_commissions(client(handler), settings(), WINDOW))
    (request,) = seen
    assert request.method == "POST" and request.url.path == "/query"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    query = query_of(request)
    assert f'forPublishers: ["{PUBLISHER}"]' in query
    assert 'sincePostingDate: "2024-03-01T00:00:00Z"' in query
    assert 'beforePostingDate: "2024-03-31T00:00:00Z"' in query
    assert re.search(r"\{ count payloadComplete maxCommissionId records \{ commissionId ", query)


def test_build_query_escapes_string_arguments():
    query = build_query('x"y', WINDOW, None)
    assert 'forPublishers: ["x\\"y"]' in query


def test_repeated_max_commission_id_is_a_pagination_error():
    page = load("commissions_page1.json")
    handler, seen = serve(page, page)
    with pytest.raises(PaginationError, match="maxCommissionId '2917703001' repeated"):
        list(fetch_commissions(client(handler), settings(), WINDOW))
    assert len(seen) == 2


def test_incomplete_payload_without_max_commission_id_is_a_pagination_error():
    page = load("commissions_page1.json")
    page["data"]["publisherCommissions"]["maxCommissionId"] = None
    handler, _ = serve(page)
    with pytest.raises(PaginationError, match="maxCommissionId is empty"):
        list(fetch_commissions(client(handler), settings(), WINDOW))


def test_graphql_errors_in_a_200_answer_raise_api_error_with_the_message():
    handler, _ = serve({"data": None, "errors": [{"message": "Unknown publisher 5551234"}]})
    with pytest.raises(ApiError, match="Unknown publisher 5551234"):
        list(fetch_commissions(client(handler), settings(), WINDOW))


def test_answer_without_records_is_a_response_format_error():
    handler, _ = serve({"data": {"publisherCommissions": {"count": 0}}})
    with pytest.raises(ResponseFormatError, match="records list"):
        list(fetch_commissions(client(handler), settings(), WINDOW))


def test_truncated_answer_names_the_page():
    truncated = httpx.Response(200, content=json.dumps(load("commissions_page2.json"))[:90])
    handler, _ = serve(load("commissions_page1.json"), truncated)
    with pytest.raises(ResponseFormatError, match=r"POST https://cj.test/query \(page 2\)"):
        list(fetch_commissions(client(handler), settings(), WINDOW))


def test_pull_splits_into_windows_of_at_most_31_days_and_numbers_pages_across_them():
    complete = load("commissions_page2.json")
    broken = load("commissions_page2.json")
    broken["data"]["publisherCommissions"]["records"][0]["actionStatus"] = "bogus"
    handler, seen = serve(load("commissions_page1.json"), complete, complete, broken)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    batches = list(
        pull_loop.pull(API, settings(), start, start + timedelta(days=63), client=client(handler))
    )
    assert len(seen) == 4 and len(batches) == 4
    spans = [
        re.findall(r'PostingDate: "([^"]+)"', query_of(r))
        for r in seen
        if "sinceCommission" not in query_of(r)
    ]
    for since, before in spans:
        assert datetime.fromisoformat(before) - datetime.fromisoformat(since) <= timedelta(31)
    assert [reject.locator for reject in batches[3].rejects] == ["page 4:0"]
    assert batches[2].rejects == [] and batches[3].records_read == 3


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("new", "pending"),
        ("NEW", "pending"),
        ("Extended", "pending"),
        ("locked", "approved"),
        ("LOCKED", "approved"),
        ("closed", "paid"),
        ("Closed", "paid"),
    ],
)
def test_action_status_maps_in_any_case(status, expected):
    record = {**load("commissions_page1.json")["data"]["publisherCommissions"]["records"][0]}
    record["actionStatus"] = status
    assert to_commission_line(CJCommission.model_validate(record), account="p").status == expected


def test_restatement_pair_links_to_the_original_and_nets_to_the_new_state():
    page1 = load("commissions_page1.json")["data"]["publisherCommissions"]["records"]
    page2 = load("commissions_page2.json")["data"]["publisherCommissions"]["records"]
    lines = validate_page(page1, account=PUBLISHER, page=1).lines
    lines += validate_page(page2, account=PUBLISHER, page=2).lines
    order = [line for line in lines if line.order_id == "GX-10001"]
    assert [line.line_id for line in order] == ["2917702990", "2917709101", "2917709102"]
    assert {line.original_line_id for line in order} == {"2917702990"}
    assert order[1].commission_amount == Decimal("-7.781")
    net = sum((line.commission_amount for line in order), Decimal(0))
    assert net == Decimal("3.8905")
    assert sum((line.sale_amount for line in order), Decimal(0)) == Decimal("77.81")


def test_money_strings_stay_exact_decimals_in_usd():
    record = load("commissions_page1.json")["data"]["publisherCommissions"]["records"][0]
    line = to_commission_line(CJCommission.model_validate(record), account=PUBLISHER)
    assert (line.commission_amount, line.sale_amount, line.currency) == (
        Decimal("7.781"),
        Decimal("155.62"),
        "USD",
    )
    assert isinstance(line.commission_amount, Decimal)


def test_mapping_uses_utc_event_day_and_cj_identifiers():
    record = load("commissions_page1.json")["data"]["publisherCommissions"]["records"][0]
    line = to_commission_line(CJCommission.model_validate(record), account=PUBLISHER)
    assert (line.line_id, line.account) == ("2917702990", PUBLISHER)
    assert line.event_date == date(2024, 3, 3)
    assert line.event_at == datetime(2024, 3, 3, 23, 59, 30, tzinfo=UTC)
    assert (line.program, line.tracking_id, line.order_id) == (
        "Globex Electronics",
        "headphones-post",
        "GX-10001",
    )


def test_lead_without_sale_amount_maps_to_zero_sale_and_blank_shopper_to_none():
    record = load("commissions_page2.json")["data"]["publisherCommissions"]["records"][2]
    line = to_commission_line(CJCommission.model_validate(record), account=PUBLISHER)
    assert line.sale_amount == Decimal(0) and line.tracking_id is None
    assert line.original_line_id is None


def test_bad_record_is_rejected_with_page_locator_and_the_rest_kept():
    records = load("commissions_page1.json")["data"]["publisherCommissions"]["records"]
    broken = {**records[1], "pubCommissionAmountUsd": "7,78.1x", "eventDate": "yesterday"}
    batch = validate_page([records[0], broken], account=PUBLISHER, page=5)
    assert [line.line_id for line in batch.lines] == ["2917702990"]
    (reject,) = batch.rejects
    assert reject.locator == "page 5:1"
    assert json.loads(reject.raw)["commissionId"] == "2917703001"
    assert len(reject.reasons) == 2


def test_default_settings_follow_the_documented_limits():
    loaded = settings()
    assert (loaded.lookback_days, loaded.max_window_days) == (62, 31)
    assert CJSettings.model_fields["base_url"].default == "https://commissions.api.cj.com"
    # Without passive.toml the ledger's account is the network's name (issue 16).
    assert (API.account(loaded), loaded.publisher_id) == ("cj", PUBLISHER)
