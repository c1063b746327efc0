"""Awin connector: two date passes, de-duplication, exact money, statuses, mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connectors.awin import API, fetch_transactions
from connectors.base import DateWindow
from connectors.http import AuthError, ManualClock, ResponseFormatError, SettingsError
from connectors.settings import AwinSettings
from flows import pull_loop
from schemas.awin import AwinTransaction, to_commission_line, validate_page
from schemas.validation import keep_latest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "awin"
TOKEN, PUBLISHER = "awin-personal-token-abcdef123456", "77777"


def raw_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def decoded(name: str) -> list[dict]:
    return json.loads(raw_fixture(name), parse_float=Decimal)


def settings(**overrides) -> AwinSettings:
    values = {"token": TOKEN, "publisher_id": PUBLISHER, "base_url": "https://awin.test"}
    return AwinSettings(_env_file=None, **{**values, **overrides})


def serve(*bodies: bytes | httpx.Response) -> tuple[Callable, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = queue.pop(0)
        return body if isinstance(body, httpx.Response) else httpx.Response(200, content=body)

    return handler, seen


def client(handler):
    return API.make_client(settings(), clock=ManualClock(), transport=httpx.MockTransport(handler))


def test_pull_sends_documented_path_params_and_bearer_header_for_both_date_types():
    empty = b"[]"
    handler, seen = serve(*[empty] * 6)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    list(pull_loop.pull(API, settings(), start, start + timedelta(days=90), client=client(handler)))
    assert len(seen) == 6  # 3 windows x (transaction, validation)
    for request in seen:
        assert request.url.path == f"/publishers/{PUBLISHER}/transactions/"
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert "accessToken" not in request.url.params
        assert request.url.params["timezone"] == "UTC"
    assert [r.url.params["dateType"] for r in seen] == ["transaction"] * 3 + ["validation"] * 3
    assert dict(seen[0].url.params) == {
        "startDate": "2024-01-01T00:00:00",
        "endDate": "2024-02-01T00:00:00",
        "timezone": "UTC",
        "dateType": "transaction",
    }
    for request in seen:
        begin = datetime.fromisoformat(request.url.params["startDate"])
        end = datetime.fromisoformat(request.url.params["endDate"])
        assert timedelta(0) < end - begin <= timedelta(days=31)


def test_two_passes_returning_the_same_id_keep_only_the_latest():
    handler, _ = serve(
        raw_fixture("transactions_by_transaction_date.json"),
        raw_fixture("transactions_by_validation_date.json"),
    )
    start = datetime(2021, 7, 1, tzinfo=UTC)
    batches = list(
        pull_loop.pull(API, settings(), start, start + timedelta(days=31), client=client(handler))
    )
    lines = [line for batch in batches for line in batch.lines]
    ids = [line.line_id for line in lines]
    assert len(ids) == len(set(ids)) == 5
    kept = next(line for line in lines if line.line_id == "920699395")
    assert kept.status == "approved"  # pending in pass 1, approved in the validation pass
    assert [b.records_read for b in batches] == [4, 2]
    assert [len(b.lines) for b in batches] == [3, 2]


def test_keep_latest_preserves_order_and_source_positions():
    first = validate_page(decoded("transactions_by_transaction_date.json"), account="p", page=1)
    second = validate_page(decoded("transactions_by_validation_date.json"), account="p", page=2)
    deduped = keep_latest([first, second])
    assert [line.line_id for line in deduped[0].lines] == ["920700001", "920700002", "920700003"]
    assert deduped[0].source_lines == [1, 2, 3]
    assert deduped[1].lines == second.lines


def test_decimal_money_is_exact_through_the_client():
    handler, _ = serve(raw_fixture("transactions_by_transaction_date.json"))
    window = DateWindow(datetime(2021, 7, 1, tzinfo=UTC), datetime(2021, 7, 31, tzinfo=UTC))
    (page,) = fetch_transactions(client(handler), settings(), window)
    batch = validate_page(page.records, account=PUBLISHER, page=1)
    eur = [line.commission_amount for line in batch.lines if line.currency == "EUR"]
    assert eur == [Decimal("0.1"), Decimal("0.2")]
    assert sum(eur, Decimal(0)) == Decimal("0.3")


def test_float_money_is_rejected_not_rounded():
    record = json.loads(raw_fixture("transactions_by_transaction_date.json"))[2]
    batch = validate_page([record], account=PUBLISHER, page=4)
    assert batch.lines == []
    assert batch.rejects[0].locator == "page 4:0"
    assert "parse_float=Decimal" in " ".join(batch.rejects[0].reasons)


@pytest.mark.parametrize(
    ("status", "paid", "expected"),
    [
        ("pending", False, "pending"),
        ("approved", False, "approved"),
        ("approved", True, "paid"),
        ("declined", False, "reversed"),
        ("deleted", False, "reversed"),
        ("Approved", False, "approved"),
    ],
)
def test_commission_status_maps_to_ledger_status(status, paid, expected):
    record = {**decoded("transactions_by_transaction_date.json")[0]}
    record.update(commissionStatus=status, paidToPublisher=paid)
    assert (
        to_commission_line(AwinTransaction.model_validate(record), account="p").status == expected
    )


def test_unknown_status_is_rejected():
    record = {**decoded("transactions_by_transaction_date.json")[0], "commissionStatus": "odd"}
    batch = validate_page([record], account=PUBLISHER, page=1)
    assert "unknown Awin status" in batch.rejects[0].reasons[0]


def test_amended_row_keeps_its_id_and_carries_the_new_amounts():
    record = decoded("transactions_by_transaction_date.json")[1]
    raw = AwinTransaction.model_validate(record)
    line = to_commission_line(raw, account=PUBLISHER)
    assert raw.amended and raw.old_commission_amount is not None
    assert raw.old_commission_amount.amount == Decimal("10.8")
    assert (line.line_id, line.commission_amount, line.sale_amount) == (
        "920700001",
        Decimal("8.1"),
        Decimal("90.0"),
    )
    assert (line.status, line.currency, line.order_id) == ("paid", "GBP", "WC-3321")
    assert (line.product_id, line.product_name, line.quantity) == ("SKU-77", "Wool coat", 1)
    assert (line.tracking_id, line.program) == ("winter-coats", "5566")


def test_mixed_currencies_map_per_record():
    batch = validate_page(
        decoded("transactions_by_transaction_date.json"), account=PUBLISHER, page=1
    )
    assert [line.currency for line in batch.lines] == ["BRL", "GBP", "EUR", "EUR"]


def test_naive_timestamps_are_read_as_utc():
    line = validate_page(
        decoded("transactions_by_transaction_date.json"), account=PUBLISHER, page=1
    ).lines[1]
    assert line.event_at == datetime(2021, 7, 10, 23, 30, tzinfo=UTC)
    assert line.event_date == date(2021, 7, 10)


def test_sale_in_another_currency_than_the_commission_is_rejected():
    record = {**decoded("transactions_by_transaction_date.json")[0]}
    record["saleAmount"] = {"amount": Decimal("10"), "currency": "USD"}
    batch = validate_page([record], account=PUBLISHER, page=1)
    assert "one ledger line holds one currency" in batch.rejects[0].reasons[0]


def test_non_array_answer_is_a_response_format_error():
    handler, _ = serve(b'{"error": "Bad Request", "description": "bad dates"}')
    window = DateWindow(datetime(2021, 7, 1, tzinfo=UTC), datetime(2021, 7, 2, tzinfo=UTC))
    with pytest.raises(ResponseFormatError, match="expected a JSON array"):
        list(fetch_transactions(client(handler), settings(), window))


def test_401_names_the_token_setting_and_hides_the_token():
    handler, _ = serve(httpx.Response(401, json={"error": "unauthorized"}))
    window = DateWindow(datetime(2021, 7, 1, tzinfo=UTC), datetime(2021, 7, 2, tzinfo=UTC))
    with pytest.raises(AuthError) as caught:
        list(fetch_transactions(client(handler), settings(), window))
    assert "PASSIVE_AWIN_TOKEN" in str(caught.value) and TOKEN not in str(caught.value)


def test_missing_publisher_id_fails_before_any_request():
    handler, seen = serve()
    with pytest.raises(SettingsError, match="PASSIVE_AWIN_PUBLISHER_ID"):
        pull_loop.pull(
            API,
            settings(publisher_id=None),
            datetime(2021, 7, 1, tzinfo=UTC),
            datetime(2021, 7, 2, tzinfo=UTC),
            client=client(handler),
        )
    assert seen == []


def test_default_settings_follow_the_documented_limits():
    loaded = settings()
    assert (loaded.lookback_days, loaded.max_window_days) == (90, 31)
    assert (loaded.rate_limit_requests, loaded.rate_limit_period_seconds) == (20, 60.0)
    assert AwinSettings.model_fields["base_url"].default == "https://api.awin.com"
