"""Shared HTTP layer: retries, backoff, rate limiting, redaction, typed errors."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import API_NETWORKS
from connectors.errors import REDACTED, RedactingFilter
from connectors.http import (
    ApiClient,
    ApiError,
    AuthError,
    BearerAuth,
    ConnectorError,
    CursorTracker,
    ManualClock,
    PaginationError,
    RateLimit,
    RedactedBasicAuth,
    ResponseFormatError,
    RetriableApiError,
    RetryPolicy,
    TokenBucket,
    make_client,
    parse_rate_limit_reset,
    parse_retry_after,
    redact,
)
from connectors.settings import NetworkSettings
from connectors.stream import Stream
from schemas.raw_models import raw_model

TOKEN = "tok-SUPER-secret-9f8e7d6c"
Handler = Callable[[httpx.Request], httpx.Response]


def client_for(
    handler: Handler,
    *,
    clock: ManualClock | None = None,
    retry: RetryPolicy | None = None,
    rate_limit: RateLimit | None = None,
    auth: httpx.Auth | None = None,
) -> ApiClient:
    return make_client(
        network="impact",
        base_url="https://api.test",
        auth=auth or BearerAuth(TOKEN),
        rate_limit=rate_limit or RateLimit(1000, 3600, burst=50),
        retry=retry or RetryPolicy(jitter=0.0),
        secrets=[TOKEN],
        credential_settings=["PASSIVE_IMPACT_AUTH_TOKEN"],
        clock=clock or ManualClock(),
        transport=httpx.MockTransport(handler),
    )


def sequence(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    return handler, seen


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


def test_bearer_auth_sends_authorization_header_and_hides_token_in_repr():
    handler, seen = sequence(ok({"a": 1}))
    client = client_for(handler)
    client.get_json("/x")
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["Accept"] == "application/json"
    assert TOKEN not in repr(BearerAuth(TOKEN))
    assert TOKEN not in repr(client)


def test_basic_auth_sends_base64_sid_and_token():
    handler, seen = sequence(ok({}))
    client_for(handler, auth=RedactedBasicAuth("IRsid", TOKEN)).get_json("/x")
    expected = base64.b64encode(f"IRsid:{TOKEN}".encode()).decode()
    assert seen[0].headers["Authorization"] == f"Basic {expected}"
    assert TOKEN not in repr(RedactedBasicAuth("IRsid", TOKEN))


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_fails_at_once_naming_the_setting_and_not_the_token(status):
    clock = ManualClock()
    handler, seen = sequence(httpx.Response(status, json={"Message": f"bad token {TOKEN}"}))
    with pytest.raises(AuthError) as caught:
        client_for(handler, clock=clock).get_json("/x")
    text = str(caught.value)
    assert f"impact.com rejected the credentials ({status})" in text
    assert "PASSIVE_IMPACT_AUTH_TOKEN" in text
    assert TOKEN not in text and TOKEN not in repr(caught.value)
    assert len(seen) == 1 and clock.sleeps == []


def test_429_honours_retry_after_seconds():
    clock = ManualClock()
    handler, _ = sequence(httpx.Response(429, headers={"Retry-After": "7"}), ok([]))
    assert client_for(handler, clock=clock).get_json("/x") == []
    assert clock.sleeps == [7.0]


def test_429_honours_retry_after_http_date():
    clock = ManualClock(start=1_700_000_000.0)
    when = datetime.fromtimestamp(1_700_000_000 + 42, tz=UTC)
    handler, _ = sequence(
        httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}), ok([])
    )
    client_for(handler, clock=clock).get_json("/x")
    assert clock.sleeps == [42.0]


def test_429_honours_x_ratelimit_reset_as_seconds_until():
    clock = ManualClock()
    handler, _ = sequence(
        httpx.Response(429, headers={"X-RateLimit-Reset": "120", "X-RateLimit-Remaining": "0"}),
        ok([]),
    )
    client_for(handler, clock=clock).get_json("/x")
    assert clock.sleeps == [120.0]


def test_429_honours_x_ratelimit_reset_as_epoch_seconds():
    clock = ManualClock(start=1_700_000_000.0)
    handler, _ = sequence(
        httpx.Response(429, headers={"X-RateLimit-Reset": str(1_700_000_000 + 30)}), ok([])
    )
    client_for(handler, clock=clock).get_json("/x")
    assert clock.sleeps == [30.0]


def test_server_hint_gets_bounded_jitter_on_top():
    clock = ManualClock()
    handler, _ = sequence(httpx.Response(429, headers={"Retry-After": "5"}), ok([]))
    client_for(handler, clock=clock, retry=RetryPolicy(jitter=0.5)).get_json("/x")
    assert 5.0 <= clock.sleeps[0] <= 5.5


def test_500_is_retried_with_exponential_backoff_then_succeeds():
    clock = ManualClock()
    handler, seen = sequence(
        httpx.Response(500), httpx.Response(503), httpx.Response(502), ok({"fine": True})
    )
    policy = RetryPolicy(max_attempts=5, initial_backoff=0.5, max_backoff=30, jitter=0.0)
    assert client_for(handler, clock=clock, retry=policy).get_json("/x") == {"fine": True}
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert len(seen) == 4


def test_backoff_is_capped_and_jitter_stays_within_bounds():
    clock = ManualClock()
    handler, _ = sequence(*[httpx.Response(500)] * 5, ok([]))
    policy = RetryPolicy(max_attempts=6, initial_backoff=1.0, max_backoff=3.0, jitter=0.25)
    client_for(handler, clock=clock, retry=policy).get_json("/x")
    assert len(clock.sleeps) == 5
    assert 1.0 <= clock.sleeps[0] <= 1.25
    assert all(s <= 3.0 for s in clock.sleeps)
    assert clock.sleeps[-1] == 3.0


def test_connection_and_read_errors_are_retried():
    clock = ManualClock()
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        if len(calls) == 2:
            raise httpx.ReadTimeout("timed out", request=request)
        return ok([1])

    assert client_for(handler, clock=clock).get_json("/x") == [1]
    assert len(calls) == 3 and len(clock.sleeps) == 2


def test_gives_up_after_bounded_attempts_with_retriable_error():
    clock = ManualClock()
    handler, seen = sequence(*[httpx.Response(503)] * 3)
    with pytest.raises(RetriableApiError) as caught:
        client_for(handler, clock=clock, retry=RetryPolicy(max_attempts=3, jitter=0)).get_json(
            "/x", page=4
        )
    assert len(seen) == 3 and len(clock.sleeps) == 2
    assert "gave up after 3 attempts" in str(caught.value)
    assert "(page 4)" in str(caught.value)
    assert caught.value.status_code == 503


def test_retry_after_beyond_max_server_wait_fails_instead_of_sleeping():
    clock = ManualClock()
    handler, seen = sequence(httpx.Response(429, headers={"Retry-After": "86400"}))
    with pytest.raises(RetriableApiError) as caught:
        client_for(handler, clock=clock, retry=RetryPolicy(max_server_wait=600)).get_json("/x")
    assert caught.value.retry_after == 86400.0
    assert clock.sleeps == [] and len(seen) == 1


def test_400_is_an_api_error_carrying_the_apis_message_and_not_retried():
    body = {"Status": "ERROR", "Message": "StartDate and EndDate must be within 45 days"}
    handler, seen = sequence(httpx.Response(400, json=body))
    with pytest.raises(ApiError) as caught:
        client_for(handler).get_json("/x", params={"StartDate": "a"})
    assert not isinstance(caught.value, RetriableApiError | AuthError)
    assert "within 45 days" in str(caught.value) and caught.value.status_code == 400
    assert len(seen) == 1


def test_truncated_json_raises_response_format_error_naming_url_and_page():
    handler, _ = sequence(httpx.Response(200, content=b'{"Actions": [{"Id": "1"'))
    with pytest.raises(ResponseFormatError) as caught:
        client_for(handler).get_json("/Mediapartners/S/Actions", params={"Page": 3}, page=3)
    text = str(caught.value)
    assert "(page 3)" in text and "https://api.test/Mediapartners/S/Actions?Page=3" in text
    assert "truncated" in text


def test_json_numbers_are_parsed_as_decimal_never_float():
    handler, _ = sequence(httpx.Response(200, content=b'[{"amount": 0.1}, {"amount": 0.2}]'))
    body = client_for(handler).get_json("/x")
    total = body[0]["amount"] + body[1]["amount"]
    assert isinstance(body[0]["amount"], Decimal) and total == Decimal("0.3")


def test_secret_never_appears_in_exceptions_or_log_records(caplog):
    caplog.set_level(logging.DEBUG)
    clock = ManualClock()
    echo = {"message": f"Authorization: Bearer {TOKEN} rejected; accessToken={TOKEN}"}
    handler, _ = sequence(
        httpx.Response(500, json=echo),
        httpx.Response(500, json=echo),
        httpx.Response(400, json=echo),
    )
    with pytest.raises(ConnectorError) as caught:
        client_for(handler, clock=clock).get_json("/x", params={"accessToken": TOKEN})
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert "[REDACTED]]" not in str(caught.value)
    messages = [record.getMessage() for record in caplog.records]
    assert any("retrying" in message for message in messages)
    assert all(TOKEN not in message for message in messages)


def test_redact_scrubs_headers_query_tokens_and_registered_secrets():
    text = (
        "Authorization: Bearer abcdefghijk123 and {'authorization': 'Basic QUJDREVGOkdISUpL'} "
        "GET https://api.awin.com/x?accessToken=zzz111&startDate=1 token=qqq999 "
        f"plain {TOKEN}"
    )
    cleaned = redact(text, extra_secrets=[TOKEN])
    for secret in ("abcdefghijk123", "QUJDREVGOkdISUpL", "zzz111", "qqq999", TOKEN):
        assert secret not in cleaned
    assert "startDate=1" in cleaned and cleaned.count(REDACTED) == 5


def test_redacting_log_filter_renders_args_redacted():
    record = logging.LogRecord("x", logging.INFO, "f", 1, "header %s", ("Bearer abcdefghij",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == f"header Bearer {REDACTED}"


def test_rate_limiter_lets_a_burst_through_then_waits_at_the_rate():
    clock = ManualClock()
    bucket = TokenBucket(RateLimit(requests=20, per_seconds=60, burst=5), clock)
    waits = [bucket.acquire() for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(3.0) and waits[6] == pytest.approx(3.0)
    assert sum(clock.sleeps) == pytest.approx(6.0)


def test_rate_limiter_refills_while_idle():
    clock = ManualClock()
    bucket = TokenBucket(RateLimit(requests=1000, per_seconds=3600, burst=2), clock)
    bucket.acquire(), bucket.acquire()
    clock.now += 3.6  # one token's worth of time
    assert bucket.acquire() == pytest.approx(0.0, abs=1e-6)


def test_impact_default_bucket_does_not_slow_a_100k_action_pull():
    clock = ManualClock()
    bucket = TokenBucket(RateLimit(requests=1000, per_seconds=3600, burst=50), clock)
    # 100,000 actions at PageSize 20000 is 5 pages; a 90-day pull adds a window or two.
    assert sum(bucket.acquire() for _ in range(10)) == 0.0


def test_spent_quota_header_pauses_the_bucket_until_reset():
    clock = ManualClock()
    spent = httpx.Response(
        200, json=[], headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "90"}
    )
    handler, _ = sequence(spent, ok([]))
    client = client_for(handler, clock=clock)
    client.get_json("/x")
    client.get_json("/x")
    assert clock.sleeps == [90.0]


def test_cursor_tracker_refuses_a_repeated_cursor():
    tracker = CursorTracker("cj", "maxCommissionId")
    tracker.advance("1")
    tracker.advance("2")
    with pytest.raises(PaginationError, match="maxCommissionId '1' repeated"):
        tracker.advance("1")


@given(st.integers(min_value=0, max_value=10**8))
def test_retry_after_delta_seconds_parse_exactly(seconds):
    assert parse_retry_after(str(seconds), now=1_700_000_000.0) == float(seconds)


@given(st.integers(min_value=0, max_value=10**6), st.floats(min_value=1.7e9, max_value=1.8e9))
def test_rate_limit_reset_reads_small_values_as_delta_and_large_as_epoch(delta, now):
    assert parse_rate_limit_reset(str(delta), now=now) == float(delta)
    epoch = int(now) + delta
    assert parse_rate_limit_reset(str(epoch), now=now) == pytest.approx(max(epoch - now, 0.0))


def test_unparseable_retry_hints_are_ignored():
    assert parse_retry_after("soon", now=0.0) is None
    assert parse_rate_limit_reset("", now=0.0) is None


def test_registry_maps_each_api_network_to_its_declared_stream():
    assert set(API_NETWORKS) == {"impact", "awin", "cj"}
    for name, network in API_NETWORKS.items():
        assert network.name == name
        # The pull loop pairs the declaration with the raw model it names (flows.pull_loop).
        assert callable(raw_model(network.raw_model).validate) and callable(network.account)
        assert issubclass(network.settings_class, NetworkSettings)
        assert isinstance(network, Stream)


def test_default_settings_bound_one_request_to_a_few_minutes_whatever_the_server_does():
    # README "How long a pull may take": a stalled or trickling request is tried twice, each
    # try ends at the request deadline, and the backoff between them is capped.
    settings = API_NETWORKS["impact"].settings_class(_env_file=None)
    policy, limits = settings.retry_policy(), settings.request_limits()
    worst = policy.timeout_attempts * limits.deadline + policy.max_backoff
    assert (policy.timeout_attempts, limits.deadline, settings.timeout().read) == (2, 120.0, 20.0)
    assert worst <= 5 * 60
    assert limits.max_response_bytes == 64 * 2**20 and limits.max_pages == 1000


def test_a_read_timeout_is_tried_timeout_attempts_times_while_a_500_gets_max_attempts():
    def stalled(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    policy = RetryPolicy(max_attempts=5, timeout_attempts=2, jitter=0.0)
    clock = ManualClock()
    with pytest.raises(RetriableApiError) as caught:
        client_for(stalled, clock=clock, retry=policy).get_json("/x")
    assert "gave up after 2 attempts" in str(caught.value) and len(clock.sleeps) == 1
    handler, seen = sequence(*[httpx.Response(500)] * 5)
    with pytest.raises(RetriableApiError):
        client_for(handler, clock=ManualClock(), retry=policy).get_json("/x")
    assert len(seen) == 5
