"""The sandbox over real loopback HTTP: Impact, Awin and CJ shapes, limits, faults and admin."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.dataset import Dataset
from sandbox.server import (
    SANDBOX_AWIN_PUBLISHER_ID,
    SANDBOX_AWIN_TOKEN,
    SANDBOX_CJ_PUBLISHER_ID,
    SANDBOX_CJ_TOKEN,
    SANDBOX_IMPACT_SID,
    SANDBOX_IMPACT_TOKEN,
    SandboxHandle,
    env,
    run_sandbox,
)

# 41 days of data: one 45-day Impact window or two 31-day Awin/CJ windows cover it all.
START, END = date(2026, 8, 5), date(2026, 9, 14)
IMPACT_PATH = f"/Mediapartners/{SANDBOX_IMPACT_SID}/Actions"
AWIN_PATH = f"/publishers/{SANDBOX_AWIN_PUBLISHER_ID}/transactions/"
ALL_UPDATES = {"StartDate": "2026-08-01T00:00:00Z", "EndDate": "2026-09-15T00:00:00Z"}
CJ_FIELDS = (
    "commissionId actionStatus original originalActionId postingDate "
    "pubCommissionAmountUsd saleAmountUsd"
)


def _dataset() -> Dataset:
    return Dataset(
        5, impact_actions=2500, awin_transactions=900, cj_commissions=1400, start=START, end=END
    )


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxHandle]:
    """One sandbox for read-only tests."""
    with run_sandbox(_dataset()) as sb:
        yield sb


@pytest.fixture
def sb(shared: SandboxHandle) -> Iterator[SandboxHandle]:
    """The shared sandbox with faults and the request log cleared around each test."""
    shared.clear_faults()
    shared.clear_requests()
    yield shared
    shared.clear_faults()


@pytest.fixture
def fresh() -> Iterator[SandboxHandle]:
    """A private sandbox for tests that advance or reset the dataset."""
    with run_sandbox(_dataset()) as sb:
        yield sb


def impact_client(sb: SandboxHandle, token: str = SANDBOX_IMPACT_TOKEN) -> httpx.Client:
    return httpx.Client(
        base_url=sb.base_url,
        auth=(SANDBOX_IMPACT_SID, token),
        headers={"Accept": "application/json"},
        timeout=30,
    )


def awin_get(
    sb: SandboxHandle, params: dict[str, str], token: str = SANDBOX_AWIN_TOKEN
) -> httpx.Response:
    return httpx.get(
        sb.base_url + AWIN_PATH,
        params={"timezone": "UTC", **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def cj_post(
    sb: SandboxHandle, body: dict[str, Any], token: str = SANDBOX_CJ_TOKEN
) -> httpx.Response:
    return httpx.post(
        sb.base_url + "/query", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def cj_query(since: str, before: str, since_id: str | None = None, fields: str = CJ_FIELDS) -> str:
    cursor = f', sinceCommissionId: "{since_id}"' if since_id else ""
    return (
        f'{{ publisherCommissions(forPublishers: ["{SANDBOX_CJ_PUBLISHER_ID}"], '
        f'sincePostingDate: "{since}", beforePostingDate: "{before}"{cursor}) '
        f"{{ count payloadComplete maxCommissionId records {{ {fields} }} }} }}"
    )


def pull_impact(sb: SandboxHandle, params: dict[str, str]) -> list[dict[str, Any]]:
    """Follow @nextpageuri to the end, as tap-impact does (reference §2)."""
    out: list[dict[str, Any]] = []
    with impact_client(sb) as client:
        response = client.get(IMPACT_PATH, params=params)
        while True:
            assert response.status_code == 200, response.text
            page = response.json()
            out.extend(page["Actions"])
            if not page["@nextpageuri"]:
                return out
            response = client.get(page["@nextpageuri"])


def pull_awin(sb: SandboxHandle, date_type: str = "transaction") -> list[dict[str, Any]]:
    """Two 31-day-or-shorter windows covering the dataset (and phase-1 additions)."""
    out: list[dict[str, Any]] = []
    for start, end in (
        ("2026-07-20T00:00:00", "2026-08-20T00:00:00"),
        ("2026-08-20T00:00:01", "2026-09-16T00:00:00"),
    ):
        response = awin_get(sb, {"startDate": start, "endDate": end, "dateType": date_type})
        assert response.status_code == 200, response.text
        out.extend(json.loads(response.text, parse_float=Decimal))
    return out


def pull_cj(sb: SandboxHandle, since: str, before: str) -> tuple[list[dict[str, Any]], int]:
    """Follow payloadComplete/maxCommissionId to the end; returns records and page count."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        response = cj_post(sb, {"query": cj_query(since, before, cursor)})
        assert response.status_code == 200, response.text
        envelope = response.json()["data"]["publisherCommissions"]
        pages += 1
        assert envelope["count"] == len(envelope["records"]) <= 500
        out.extend(envelope["records"])
        if envelope["payloadComplete"]:
            return out, pages
        cursor = envelope["maxCommissionId"]


def pull_cj_all(sb: SandboxHandle) -> list[dict[str, Any]]:
    first, _ = pull_cj(sb, "2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z")
    second, _ = pull_cj(sb, "2026-09-01T00:00:00Z", "2026-09-16T00:00:00Z")
    return first + second


def ledger_totals(
    network: str, records: list[dict[str, Any]]
) -> dict[tuple[str, str], tuple[Decimal, Decimal, int]]:
    """The ledger mapping applied to pulled records, one line per id (latest state)."""
    by_id: dict[str, tuple[str, str, Decimal, Decimal]] = {}
    for r in records:
        if network == "impact":
            status = {"PENDING": "pending", "APPROVED": "approved", "REVERSED": "reversed"}[
                r["State"]
            ]
            if status == "approved" and r["ClearedDate"]:
                status = "paid"
            # A reversed action keeps the amounts that were reversed (its Intended* fields).
            sale, payout = (
                ("Amount", "Payout")
                if status != "reversed"
                else ("IntendedAmount", "IntendedPayout")
            )
            by_id[r["Id"]] = (r["Currency"], status, Decimal(r[sale]), Decimal(r[payout]))
        elif network == "awin":
            status = {
                "pending": "pending",
                "approved": "approved",
                "declined": "reversed",
                "deleted": "reversed",
            }[r["commissionStatus"]]
            if status == "approved" and r["paidToPublisher"]:
                status = "paid"
            by_id[str(r["id"])] = (
                r["commissionAmount"]["currency"],
                status,
                Decimal(r["saleAmount"]["amount"]),
                Decimal(r["commissionAmount"]["amount"]),
            )
        else:
            status = {
                "new": "pending",
                "extended": "pending",
                "locked": "approved",
                "closed": "paid",
            }[r["actionStatus"].lower()]
            by_id[r["commissionId"]] = (
                "USD",
                status,
                Decimal(r["saleAmountUsd"]),
                Decimal(r["pubCommissionAmountUsd"]),
            )
    acc: dict[tuple[str, str], tuple[Decimal, Decimal, int]] = {}
    for currency, status, sale, commission in by_id.values():
        s, c, n = acc.get((currency, status), (Decimal(0), Decimal(0), 0))
        acc[(currency, status)] = (s + sale, c + commission, n + 1)
    return dict(sorted(acc.items()))


# ---------------------------------------------------------------------------------------------
# Impact


def test_impact_paging_via_nextpageuri_covers_every_action_exactly_once(sb):
    actions = pull_impact(sb, {**ALL_UPDATES, "PageSize": "700"})
    ids = [a["Id"] for a in actions]
    assert len(ids) == len(set(ids)) == len(sb.dataset.impact)
    assert set(ids) == {a.id for a in sb.dataset.impact}
    created = [datetime.fromisoformat(a["CreationDate"]) for a in actions]
    assert created == sorted(created, reverse=True), "newest first by creation date"
    pages = sb.requests("impact")
    assert len(pages) == 4
    assert [p["query"]["Page"] for p in pages[1:]] == ["2", "3", "4"]


def test_impact_page_metadata_is_strings_with_relative_next_uri_empty_on_last_page(sb):
    with impact_client(sb) as client:
        first = client.get(IMPACT_PATH, params={**ALL_UPDATES, "PageSize": "1000"}).json()
        last = client.get(first["@lastpageuri"]).json()
    for page in (first, last):
        for key in ("@page", "@numpages", "@pagesize", "@total", "@start", "@end"):
            assert isinstance(page[key], str)
    assert first["@page"] == "1" and first["@numpages"] == "3" and first["@total"] == "2500"
    assert first["@previouspageuri"] == ""
    assert first["@nextpageuri"].startswith(IMPACT_PATH + "?") and "Page=2" in first["@nextpageuri"]
    assert last["@page"] == "3" and last["@nextpageuri"] == "" and len(last["Actions"]) == 500


def test_impact_default_page_size_is_100(sb):
    with impact_client(sb) as client:
        page = client.get(IMPACT_PATH, params=ALL_UPDATES).json()
    assert page["@pagesize"] == "100" and len(page["Actions"]) == 100


def test_impact_window_over_45_days_is_400_with_impact_error_body(sb):
    with impact_client(sb) as client:
        ok = client.get(
            IMPACT_PATH,
            params={"StartDate": "2026-08-01T00:00:00Z", "EndDate": "2026-09-15T00:00:00Z"},
        )
        too_long = client.get(
            IMPACT_PATH,
            params={"StartDate": "2026-08-01T00:00:00Z", "EndDate": "2026-09-15T00:00:01Z"},
        )
    assert ok.status_code == 200
    assert too_long.status_code == 400
    body = too_long.json()
    assert body["Status"] == "ERROR" and "45 days" in body["Message"]
    assert body["Errors"][0]["Field"] == "EndDate"


def test_impact_start_date_without_end_date_is_400(sb):
    with impact_client(sb) as client:
        response = client.get(IMPACT_PATH, params={"StartDate": "2026-08-01T00:00:00Z"})
    assert response.status_code == 400
    assert response.json()["Status"] == "ERROR"


def test_impact_start_date_more_than_three_years_back_is_400(sb):
    start = (datetime.now(UTC) - timedelta(days=3 * 365 + 30)).date()
    with impact_client(sb) as client:
        response = client.get(
            IMPACT_PATH,
            params={
                "StartDate": start.isoformat(),
                "EndDate": (start + timedelta(days=10)).isoformat(),
            },
        )
    assert response.status_code == 400
    assert "3 years" in response.json()["Message"]


def test_impact_bad_credentials_are_401_with_json_error(sb):
    with impact_client(sb, token="wrong") as client:
        wrong = client.get(IMPACT_PATH, params=ALL_UPDATES)
    missing = httpx.get(sb.base_url + IMPACT_PATH, params=ALL_UPDATES)
    for response in (wrong, missing):
        assert response.status_code == 401
        assert response.json()["Status"] == "ERROR"


def test_impact_xml_accept_is_406(sb):
    response = httpx.get(
        sb.base_url + IMPACT_PATH,
        params=ALL_UPDATES,
        auth=(SANDBOX_IMPACT_SID, SANDBOX_IMPACT_TOKEN),
        headers={"Accept": "application/xml"},
    )
    assert response.status_code == 406


def test_impact_without_dates_returns_only_the_last_7_days_of_updates(sb):
    now = sb.dataset.phase_time()
    sb.state.clock = lambda: now
    try:
        actions = pull_impact(sb, {"PageSize": "20000"})
    finally:
        sb.state.clock = lambda: datetime.now(UTC)
    cutoff = (now - timedelta(days=7)).timestamp()
    expected = {a.id for a in sb.dataset.impact if a.updated_ts >= cutoff}
    assert expected and {a["Id"] for a in actions} == expected


def test_impact_state_and_action_date_filters_apply(sb):
    approved = pull_impact(sb, {**ALL_UPDATES, "State": "APPROVED", "PageSize": "20000"})
    assert approved and {a["State"] for a in approved} == {"APPROVED"}
    by_event = pull_impact(
        sb,
        {
            "ActionDateStart": "2026-09-01T00:00:00Z",
            "ActionDateEnd": "2026-09-02T00:00:00Z",
            "PageSize": "20000",
        },
    )
    lo, hi = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC)
    assert by_event and all(lo <= datetime.fromisoformat(a["EventDate"]) < hi for a in by_event)


def test_impact_responses_carry_rate_limit_headers(sb):
    with impact_client(sb) as client:
        response = client.get(IMPACT_PATH, params=ALL_UPDATES)
    assert response.headers["X-RateLimit-Limit"] == "1000"
    assert int(response.headers["X-RateLimit-Remaining"]) < 1000
    assert "X-RateLimit-Reset" in response.headers


# ---------------------------------------------------------------------------------------------
# Awin


def test_awin_window_over_31_days_is_400(sb):
    ok = awin_get(sb, {"startDate": "2026-08-01T00:00:00", "endDate": "2026-09-01T00:00:00"})
    too_long = awin_get(sb, {"startDate": "2026-08-01T00:00:00", "endDate": "2026-09-01T00:00:01"})
    assert ok.status_code == 200
    assert too_long.status_code == 400
    assert "31 days" in too_long.json()["description"]


def test_awin_requires_dates_and_a_documented_timezone(sb):
    assert awin_get(sb, {"startDate": "2026-08-01T00:00:00"}).status_code == 400
    bad_tz = awin_get(
        sb,
        {
            "startDate": "2026-08-01T00:00:00",
            "endDate": "2026-08-02T00:00:00",
            "timezone": "Mars/Base",
        },
    )
    assert bad_tz.status_code == 400
    bad_format = awin_get(sb, {"startDate": "2026-08-01", "endDate": "2026-08-02"})
    assert bad_format.status_code == 400


def test_awin_accepts_bearer_header_or_access_token_param_and_rejects_bad_tokens(sb):
    params = {
        "startDate": "2026-09-01T00:00:00",
        "endDate": "2026-09-10T00:00:00",
        "timezone": "UTC",
    }
    by_param = httpx.get(
        sb.base_url + AWIN_PATH, params={**params, "accessToken": SANDBOX_AWIN_TOKEN}
    )
    by_header = awin_get(sb, params)
    assert by_param.status_code == by_header.status_code == 200
    assert by_param.text == by_header.text
    assert awin_get(sb, params, token="nope").status_code == 401
    assert httpx.get(sb.base_url + AWIN_PATH, params=params).status_code == 401


def test_awin_pull_is_a_bare_array_of_exact_decimals_in_mixed_currencies(sb):
    records = pull_awin(sb)
    assert {r["id"] for r in records} == {t.id for t in sb.dataset.awin}
    assert {r["commissionAmount"]["currency"] for r in records} == {"USD", "EUR", "GBP"}
    for r in records[:100]:
        txn = sb.dataset.awin_transaction(r["id"])
        assert r["commissionAmount"]["amount"] == txn.commission
        assert len(r["transactionDate"]) == 19 and "+" not in r["transactionDate"]
    assert ledger_totals("awin", records) == sb.dataset.expected_totals("awin")


def test_awin_validation_date_type_filters_on_validation_date(sb):
    records = awin_get(
        sb,
        {
            "startDate": "2026-09-01T00:00:00",
            "endDate": "2026-09-15T00:00:00",
            "dateType": "validation",
        },
    ).json()
    assert records
    for r in records:
        assert (
            r["validationDate"] is not None
            and "2026-09-01T00:00:00" <= r["validationDate"] <= "2026-09-15T00:00:00"
        )
        assert r["commissionStatus"] in ("approved", "declined")


def test_awin_trailing_slash_is_optional_without_redirect(sb):
    response = httpx.get(
        sb.base_url + AWIN_PATH.rstrip("/"),
        params={
            "startDate": "2026-09-01T00:00:00",
            "endDate": "2026-09-02T00:00:00",
            "timezone": "UTC",
        },
        headers={"Authorization": f"Bearer {SANDBOX_AWIN_TOKEN}"},
    )
    assert response.status_code == 200 and isinstance(response.json(), list)


# ---------------------------------------------------------------------------------------------
# CJ


def test_cj_paging_follows_payload_complete_and_max_commission_id_to_the_end(sb):
    records, pages = pull_cj(sb, "2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z")
    lo, hi = (
        datetime(2026, 8, 1, tzinfo=UTC).timestamp(),
        datetime(2026, 9, 1, tzinfo=UTC).timestamp(),
    )
    expected = {str(r.commission_id) for r in sb.dataset.cj if lo <= r.posting_ts < hi}
    ids = [r["commissionId"] for r in records]
    assert pages >= 2
    assert len(ids) == len(set(ids)) and set(ids) == expected
    cursors = [e["graphql"]["arguments"].get("sinceCommissionId") for e in sb.requests("cj")]
    assert cursors[0] is None and all(cursors[1:])


def test_cj_full_pull_matches_expected_totals_to_the_cent(sb):
    records = pull_cj_all(sb)
    assert any(r["original"] is False for r in records), "restatement records are served"
    assert ledger_totals("cj", records) == sb.dataset.expected_totals("cj")


def test_cj_accepts_variables_in_the_standard_body(sb):
    query = (
        "query Page($pubs: [String!]!, $since: String!, $before: String!, $cursor: String) {"
        " publisherCommissions(forPublishers: $pubs, sincePostingDate: $since,"
        " beforePostingDate: $before, sinceCommissionId: $cursor) {"
        " count payloadComplete maxCommissionId records { commissionId } } }"
    )
    variables = {
        "pubs": [SANDBOX_CJ_PUBLISHER_ID],
        "since": "2026-09-01T00:00:00Z",
        "before": "2026-09-05T00:00:00Z",
    }
    inline = cj_post(
        sb,
        {"query": cj_query("2026-09-01T00:00:00Z", "2026-09-05T00:00:00Z", fields="commissionId")},
    )
    with_vars = cj_post(sb, {"query": query, "variables": variables, "operationName": "Page"})
    assert with_vars.status_code == 200
    assert with_vars.json() == inline.json()


def test_cj_selection_is_honoured_and_unknown_fields_are_graphql_errors(sb):
    response = cj_post(
        sb,
        {
            "query": cj_query(
                "2026-09-01T00:00:00Z", "2026-09-03T00:00:00Z", fields="commissionId items { sku }"
            )
        },
    )
    envelope = response.json()["data"]["publisherCommissions"]
    assert set(envelope) == {"count", "payloadComplete", "maxCommissionId", "records"}
    assert set(envelope["records"][0]) == {"commissionId", "items"}
    assert set(envelope["records"][0]["items"][0]) == {"sku"}
    bad = cj_post(
        sb,
        {
            "query": cj_query(
                "2026-09-01T00:00:00Z", "2026-09-03T00:00:00Z", fields="commissionId bogus"
            )
        },
    )
    assert "bogus" in bad.json()["errors"][0]["message"]


def test_cj_posting_window_over_31_days_is_a_graphql_error(sb):
    response = cj_post(sb, {"query": cj_query("2026-08-01T00:00:00Z", "2026-09-01T00:00:01Z")})
    body = response.json()
    assert body["data"] is None
    assert "31 days" in body["errors"][0]["message"]


def test_cj_bad_token_is_401_with_graphql_errors(sb):
    response = cj_post(
        sb, {"query": cj_query("2026-09-01T00:00:00Z", "2026-09-02T00:00:00Z")}, token="bad"
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"]


def test_cj_unparseable_query_is_a_400_graphql_error(sb):
    response = cj_post(sb, {"query": "{ publisherCommissions(forPublishers: [) }"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("Syntax Error")


# ---------------------------------------------------------------------------------------------
# Faults


def test_fault_429_carries_retry_after_and_rate_limit_reset_then_clears(sb):
    sb.set_fault("impact", "429", count=2, retry_after=3)
    with impact_client(sb) as client:
        responses = [client.get(IMPACT_PATH, params=ALL_UPDATES) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["Retry-After"] == "3"
    assert responses[0].headers["X-RateLimit-Reset"] == "3"
    assert [e["fault"] for e in sb.requests("impact")] == ["429", "429", None]


def test_cj_request_log_keeps_window_arguments_even_when_faulted(sb):
    sb.set_fault("cj", "429")
    body = {"query": cj_query("2026-09-01T00:00:00Z", "2026-09-03T00:00:00Z")}
    assert cj_post(sb, body).status_code == 429
    assert cj_post(sb, body).status_code == 200
    logged = [e["graphql"]["arguments"] for e in sb.requests("cj")]
    assert [a["sincePostingDate"] for a in logged] == ["2026-09-01T00:00:00Z"] * 2
    assert [e["fault"] for e in sb.requests("cj")] == ["429", None]


def test_fault_500_applies_only_to_its_network(sb):
    sb.set_fault("awin", "500")
    params = {"startDate": "2026-09-01T00:00:00", "endDate": "2026-09-02T00:00:00"}
    with impact_client(sb) as client:
        assert client.get(IMPACT_PATH, params=ALL_UPDATES).status_code == 200
    assert awin_get(sb, params).status_code == 500
    assert awin_get(sb, params).status_code == 200


def test_fault_truncated_json_cuts_the_body_mid_way(sb):
    sb.set_fault("cj", "truncated_json")
    body = {"query": cj_query("2026-09-01T00:00:00Z", "2026-09-03T00:00:00Z")}
    broken = cj_post(sb, body)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)
    whole = cj_post(sb, body)
    assert whole.text.startswith(broken.text)
    assert len(broken.content) < len(whole.content)


def test_fault_slow_still_answers_and_is_logged(sb):
    sb.set_fault("impact", "slow", delay=0.05)
    with impact_client(sb) as client:
        assert client.get(IMPACT_PATH, params=ALL_UPDATES).status_code == 200
    assert sb.requests("impact")[0]["fault"] == "slow"


def test_faults_are_armed_and_reset_through_the_admin_endpoint(sb):
    admin = httpx.Client(base_url=sb.base_url)
    armed = admin.post(
        "/_sandbox/faults", json={"network": "impact", "kind": "429", "count": 2, "retry_after": 1}
    )
    assert armed.status_code == 200 and armed.json()[0]["count"] == 2
    assert admin.post("/_sandbox/faults", json={"network": "impact", "kind": "reset"}).json() == []
    assert (
        admin.post("/_sandbox/faults", json={"network": "impact", "kind": "melt"}).status_code
        == 400
    )
    with impact_client(sb) as client:
        assert client.get(IMPACT_PATH, params=ALL_UPDATES).status_code == 200


# ---------------------------------------------------------------------------------------------
# Request log and admin


def test_request_log_records_windows_and_redacts_credentials(sb):
    pull_impact(sb, {**ALL_UPDATES, "PageSize": "20000"})
    httpx.get(
        sb.base_url + AWIN_PATH,
        params={
            "startDate": "2026-09-01T00:00:00",
            "endDate": "2026-09-02T00:00:00",
            "timezone": "UTC",
            "accessToken": SANDBOX_AWIN_TOKEN,
        },
    )
    log = httpx.get(sb.base_url + "/_sandbox/requests").json()
    assert [e["network"] for e in log] == ["impact", "awin"]
    assert log[0]["query"]["StartDate"] == ALL_UPDATES["StartDate"]
    assert log[0]["method"] == "GET" and log[0]["path"] == IMPACT_PATH and log[0]["status"] == 200
    assert log[1]["query"]["accessToken"] == "***"
    text = json.dumps(log)
    for secret in (SANDBOX_AWIN_TOKEN, SANDBOX_IMPACT_TOKEN):
        assert secret not in text


def test_expected_endpoint_returns_exact_decimal_strings(sb):
    body = httpx.get(sb.base_url + "/_sandbox/expected", params={"network": "impact"}).json()
    totals = sb.dataset.expected_totals("impact")
    assert body["network"] == "impact" and body["phase"] == 0
    assert {
        (r["currency"], r["status"]): (Decimal(r["sale"]), Decimal(r["commission"]), r["lines"])
        for r in body["totals"]
    } == totals
    assert (
        httpx.get(sb.base_url + "/_sandbox/expected", params={"network": "nope"}).status_code == 400
    )


def test_pulls_match_expected_totals_before_and_after_advance(fresh):
    phase0 = pull_impact(fresh, {**ALL_UPDATES, "PageSize": "20000"})
    assert ledger_totals("impact", phase0) == fresh.dataset.expected_totals("impact")
    awin0 = pull_awin(fresh)
    cj0 = pull_cj_all(fresh)

    advanced = httpx.post(fresh.base_url + "/_sandbox/advance").json()
    assert advanced["phase"] == 1 and advanced["changes"]["impact_changed"] > 0

    # An incremental Impact pull by last-updated time sees exactly what phase 1 changed or added.
    since = fresh.dataset.phase_time(0)
    delta = pull_impact(
        fresh,
        {
            "StartDate": since.isoformat(),
            "EndDate": fresh.dataset.phase_time(1).isoformat(),
            "PageSize": "20000",
        },
    )
    changed = {a.id for a in fresh.dataset.impact if a.updated_ts > since.timestamp()}
    assert {a["Id"] for a in delta} == changed
    assert ledger_totals("impact", phase0 + delta) == fresh.dataset.expected_totals("impact")

    validated = pull_awin(fresh, "validation")
    assert ledger_totals("awin", pull_awin(fresh)) == fresh.dataset.expected_totals("awin")
    assert any(
        r["id"] in {t["id"] for t in awin0 if t["commissionStatus"] == "pending"} for r in validated
    )

    cj1 = pull_cj_all(fresh)
    assert len(cj1) > len(cj0)
    assert ledger_totals("cj", cj1) == fresh.dataset.expected_totals("cj")


def test_reset_endpoint_restores_phase_zero_and_clears_faults_and_log(fresh):
    before = fresh.dataset.expected_totals("cj")
    fresh.advance()
    fresh.set_fault("all", "500", count=5)
    assert fresh.dataset.expected_totals("cj") != before
    assert httpx.post(fresh.base_url + "/_sandbox/reset").json()["phase"] == 0
    assert fresh.dataset.expected_totals("cj") == before
    assert httpx.get(fresh.base_url + "/_sandbox/faults").json() == []
    assert fresh.requests() == []


def test_env_helper_points_every_network_at_the_sandbox_base_url(sb):
    values = env(sb.base_url)
    assert values == sb.env()
    for network in ("IMPACT", "AWIN", "CJ"):
        assert values[f"PASSIVE_{network}_BASE_URL"] == sb.base_url
    assert sb.base_url.startswith("http://127.0.0.1:") and sb.base_url.count("/") == 2
    assert values["PASSIVE_IMPACT_ACCOUNT_SID"] == SANDBOX_IMPACT_SID
    assert values["PASSIVE_AWIN_PUBLISHER_ID"] == SANDBOX_AWIN_PUBLISHER_ID
    assert values["PASSIVE_CJ_TOKEN"] == SANDBOX_CJ_TOKEN


def test_run_sandbox_accepts_a_seed_and_stops_serving_on_exit():
    with run_sandbox(3) as sb:
        url = sb.base_url
        assert httpx.get(url + "/_sandbox/health").json() == {"status": "ok", "seed": 3, "phase": 0}
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/_sandbox/health", timeout=2)


def test_python_m_sandbox_serves_in_the_foreground_and_prints_env_lines():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(port),
            "--seed",
            "7",
            "--impact-actions",
            "200",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(9)]
        assert f"PASSIVE_IMPACT_BASE_URL=http://127.0.0.1:{port}" in lines
        assert any(line.startswith("PASSIVE_CJ_TOKEN=") for line in lines)
        for _ in range(200):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
                break
            except httpx.TransportError:
                proc.poll()
                assert proc.returncode is None
                time.sleep(0.05)
        assert health.json()["seed"] == 7
    finally:
        proc.terminate()
        proc.wait(timeout=10)
