"""Creators API connector pieces: settings, token reuse, md5, timestamps, unpacking, periods."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.amazon.api import (
    CreatorsAuth,
    TokenProvider,
    marketplace_host,
    md5_matches,
    parse_timestamp,
)
from connectors.amazon.unpack import describe, period_from_name, unpack
from connectors.errors import AuthError, ResponseFormatError
from connectors.http import ManualClock, RateLimit, RetryPolicy, make_client
from connectors.settings import AMAZON_TOKEN_ENDPOINTS, AmazonSettings

EARNINGS = (
    "Fee-Earnings reports from 10-01-2025 to 10-31-2025\n"
    "Category,Name,ASIN,Seller,Tracking ID,Date Shipped,Price($),Items Shipped,Returns,"
    "Revenue($),Ad Fees($),Device Type Group\n"
    "Books,A book,B000000001,Amazon.com,blog-20,2025-10-03,10.00,1,0,10.00,0.45,PHONE\n"
)
DEC_1 = date(2025, 12, 1)
ORDERS_TITLE = "Fee-Orders reports from 10-01-2025 to 10-31-2025\n"
ORDERS_NO_TITLE = (
    "Category,Name,ASIN,Date,Qty,Price($),Link Type,Tag,Indirect Sales,Device Type Group\n"
    "Books,A book,B000000001,2025-10-03,1,10.00,Text,blog-20,N,PHONE\n"
)


def settings(**kw: object) -> AmazonSettings:
    return AmazonSettings(client_id="id-123", client_secret="secret-456", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "host", "scope"),
    [
        ("2.1", "creatorsapi.auth.us-east-1.amazoncognito.com", "creatorsapi/default"),
        ("2.2", "creatorsapi.auth.eu-south-2.amazoncognito.com", "creatorsapi/default"),
        ("2.3", "creatorsapi.auth.us-west-2.amazoncognito.com", "creatorsapi/default"),
        ("3.1", "api.amazon.com", "creatorsapi::default"),
        ("3.2", "api.amazon.co.uk", "creatorsapi::default"),
        ("3.3", "api.amazon.co.jp", "creatorsapi::default"),
    ],
)
def test_the_credential_version_picks_the_token_endpoint_and_scope(version, host, scope):
    chosen = settings(credential_version=version)
    assert httpx.URL(chosen.token_endpoint()).host == host
    assert chosen.token_scope() == scope


def test_the_token_url_setting_overrides_the_versions_endpoint_but_not_its_scope():
    chosen = settings(credential_version="2.2", token_url="http://127.0.0.1:9/oauth2/token")
    assert chosen.token_endpoint() == "http://127.0.0.1:9/oauth2/token"
    assert chosen.token_scope() == "creatorsapi/default"


def test_an_unknown_credential_version_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown credential version '4\.0'.*3\.3"):
        settings(credential_version="4.0")
    assert set(AMAZON_TOKEN_ENDPOINTS) == {"2.1", "2.2", "2.3", "3.1", "3.2", "3.3"}


def test_the_default_rate_is_one_request_per_second():
    limit = settings().rate_limit()
    assert (limit.requests, limit.per_seconds, limit.burst) == (1, 1.0, 1)


@pytest.mark.parametrize(
    ("code", "host"),
    [
        ("US", "www.amazon.com"),
        ("UK", "www.amazon.co.uk"),
        ("DE", "www.amazon.de"),
        ("FR", "www.amazon.fr"),
        ("IT", "www.amazon.it"),
        ("ES", "www.amazon.es"),
        ("CA", "www.amazon.ca"),
        ("JP", "www.amazon.co.jp"),
        ("IN", "www.amazon.in"),
    ],
)
def test_each_store_has_its_x_marketplace_host(code, host):
    assert marketplace_host(code) == host


class TokenEndpoint:
    """A token endpoint for httpx.MockTransport that counts what it hands out."""

    def __init__(self, expires_in: int | None = 3600) -> None:
        self.forms: list[dict[str, list[str]]] = []
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(parse_qs(request.content.decode()))
        body: dict[str, object] = {"access_token": f"tok-{len(self.forms):04d}-abcdef"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return httpx.Response(200, json=body)


def provider(
    endpoint: Callable[[httpx.Request], httpx.Response], clock: ManualClock
) -> TokenProvider:
    chosen = settings(credential_version="3.2", token_url="https://auth.test/auth/o2/token")
    client = make_client(
        network="amazon-token",
        base_url="https://auth.test",
        rate_limit=RateLimit(1000, 1),
        retry=RetryPolicy(jitter=0.0),
        clock=clock,
        transport=httpx.MockTransport(endpoint),
    )
    return TokenProvider(chosen, client, clock)


def test_the_token_request_is_form_encoded_client_credentials_with_the_scope():
    endpoint = TokenEndpoint()
    provider(endpoint, ManualClock()).token()
    assert endpoint.forms == [
        {
            "grant_type": ["client_credentials"],
            "client_id": ["id-123"],
            "client_secret": ["secret-456"],
            "scope": ["creatorsapi::default"],
        }
    ]


@pytest.mark.parametrize("expires_in", [3600, None])
def test_a_token_is_reused_until_shortly_before_it_expires(expires_in):
    endpoint, clock = TokenEndpoint(expires_in), ManualClock()
    tokens = provider(endpoint, clock)
    first = tokens.token()
    clock.now += 3600 - 61  # 3600 s is also the assumption when expires_in is absent
    assert tokens.token() == first
    clock.now += 2
    assert tokens.token() != first
    assert len(endpoint.forms) == 2


def test_a_refresh_after_a_rejected_token_happens_once_for_concurrent_callers():
    endpoint = TokenEndpoint()
    tokens = provider(endpoint, ManualClock())
    rejected = tokens.token()
    fresh = tokens.refresh(rejected)
    assert tokens.refresh(rejected) == fresh  # a second caller with the old token reuses it
    assert len(endpoint.forms) == 2


def test_a_refused_client_fails_naming_the_settings_and_never_the_secret():
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    with pytest.raises(AuthError) as caught:
        provider(refuse, ManualClock()).token()
    text = str(caught.value)
    assert "PASSIVE_AMAZON_CLIENT_ID" in text and "PASSIVE_AMAZON_CLIENT_SECRET" in text
    assert "secret-456" not in text


def test_an_answer_without_access_token_is_a_format_error():
    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"token_type": "bearer"})

    with pytest.raises(ResponseFormatError, match="no access_token"):
        provider(empty, ManualClock()).token()


def test_the_bearer_auth_refreshes_once_on_401_and_resends():
    endpoint = TokenEndpoint()
    tokens = provider(endpoint, ManualClock())
    seen: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200, json={})

    flow = CreatorsAuth(tokens).sync_auth_flow(httpx.Request("POST", "https://api.test/x"))
    request = next(flow)
    response = api(request)
    retry = flow.send(response)
    api(retry)
    assert seen == ["Bearer tok-0001-abcdef", "Bearer tok-0002-abcdef"]
    assert "tok-" not in repr(CreatorsAuth(tokens))


def test_the_sdk_style_authorization_carries_the_version_when_asked():
    tokens = provider(TokenEndpoint(), ManualClock())
    flow = CreatorsAuth(tokens, version="3.1").sync_auth_flow(httpx.Request("POST", "https://a/"))
    assert next(flow).headers["Authorization"] == "Bearer tok-0001-abcdef, Version 3.1"


@given(st.binary(max_size=200))
def test_an_md5_matches_as_hex_etag_or_base64_and_nothing_else(data):
    digest = hashlib.md5(data).digest()
    assert md5_matches(digest.hex(), digest.hex())
    assert md5_matches(digest.hex().upper(), digest.hex())
    assert md5_matches(f'"{digest.hex()}"', digest.hex())
    assert md5_matches(base64.b64encode(digest).decode(), digest.hex())
    other = hashlib.md5(data + b"x").hexdigest()
    assert not md5_matches(other, digest.hex())


@pytest.mark.parametrize(
    "text",
    [
        "2025-12-02T06:00:00Z",
        "2025-12-02T06:00:00+00:00",
        "2025-12-02T07:00:00+01:00",
        "1764655200",
        "1764655200000",
        format_datetime(datetime(2025, 12, 2, 6, tzinfo=UTC), usegmt=True),
    ],
)
def test_last_modified_is_read_in_every_common_form_as_utc(text):
    assert parse_timestamp(text, "x") == datetime(2025, 12, 2, 6, tzinfo=UTC)


def test_an_unreadable_last_modified_names_the_entry():
    with pytest.raises(ResponseFormatError, match=r"reports\[3\]: lastModified 'soon'"):
        parse_timestamp("soon", "listReports reports[3]")


@pytest.mark.parametrize(
    ("name", "period"),
    [
        (
            "tag-20-earnings-report-20251201-20251231.csv.gz",
            (date(2025, 12, 1), date(2025, 12, 31)),
        ),
        ("earnings_2025-11-01_2025-11-30.tsv", (date(2025, 11, 1), date(2025, 11, 30))),
        ("tag-20-earnings-report-20251203.tsv.gz", (date(2025, 12, 3), date(2025, 12, 3))),
        ("Fee-Earnings-UK-2024-02.csv", (date(2024, 2, 1), date(2024, 2, 29))),
        ("earnings.csv", None),
        ("tag-20-earnings-report-20251340.csv", None),
    ],
)
def test_the_dates_in_a_file_name_give_its_period(name, period):
    assert period_from_name(name) == period


@pytest.mark.parametrize(
    ("name", "store", "period"),
    [
        ("earnings-10-01-2025-to-10-31-2025.csv", "US", (date(2025, 10, 1), date(2025, 10, 31))),
        ("earnings-01-10-2025-to-31-10-2025.csv", "UK", (date(2025, 10, 1), date(2025, 10, 31))),
        ("earnings-10-01-2025-to-10-31-2025.csv", "UK", (date(2025, 1, 10), date(2025, 1, 10))),
    ],
)
def test_dates_in_the_stores_own_order_count_when_the_store_is_known(name, store, period):
    assert period_from_name(name, store) == period


def test_gzip_zip_and_plain_downloads_unpack_to_the_same_report(tmp_path):
    raw = EARNINGS.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner/../report.csv", raw)
    downloads = {
        "a.csv.gz": gzip.compress(raw),
        "b.zip": buffer.getvalue(),
        "c.csv": raw,
    }
    hashes = set()
    for name, data in downloads.items():
        path = tmp_path / f"dl-{name}"
        path.write_bytes(data)
        (found,) = unpack(path, name, tmp_path / name)
        assert found.path.read_bytes() == raw
        assert found.path.is_relative_to(tmp_path / name)  # a member cannot leave the folder
        assert (found.report_type, found.has_title) == ("Fee-Earnings", True)
        hashes.add(found.content_hash)
    assert len(hashes) == 1


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        (EARNINGS, "x.csv", ("Fee-Earnings", True)),
        (EARNINGS.split("\n", 1)[1], "x.csv", ("Fee-Earnings", False)),
        (ORDERS_NO_TITLE, "x.csv", ("Fee-Orders", False)),
        (
            "Fee-Orders reports from 10-01-2025 to 10-31-2025\n" + ORDERS_NO_TITLE,
            "x",
            ("Fee-Orders", True),
        ),
        ("Tracking ID,Clicks,Items Ordered\nblog-20,10,1\n", "x.csv", ("Fee-Tracking", False)),
        (
            "Date,Clicks,Total Items Ordered,Conversion\n2025-10-01,1,1,1%\n",
            "x",
            ("Fee-DailyTrends", False),
        ),
        ("Link Type,Clicks,Items Ordered,Conversion\nText,1,1,1%\n", "x", ("Fee-LinkType", False)),
        ("a,b,c\n1,2,3\n", "tag-20-bounty-report-20251203.tsv", ("Fee-Bounty", False)),
        ("a,b,c\n1,2,3\n", "mystery.csv", ("", False)),
        (
            "product_line\titem\tasin\tseller\ttracking_id\tdate_shipped\tprice\tquantity\t"
            "revenue\tearnings\treferral_fee_rate\n",
            "x.tsv",
            ("Fee-Earnings", False),
        ),
    ],
)
def test_the_report_type_comes_from_the_title_else_the_header_else_the_name(
    tmp_path, text, name, expected
):
    path = tmp_path / "r"
    path.write_text(text, encoding="utf-8")
    found = describe(path, name)
    assert (found.report_type, found.has_title) == expected


def test_a_damaged_gzip_is_a_report_error_naming_the_file(tmp_path):
    from connectors.amazon.errors import AmazonReportError

    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(EARNINGS.encode())[:30])
    with pytest.raises(AmazonReportError, match=r"x\.csv\.gz.*damaged gzip"):
        unpack(path, "x.csv.gz", tmp_path / "out")


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("PASSIVE_AMAZON_CLIENT_ID", "env-id")
    monkeypatch.setenv("PASSIVE_AMAZON_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("PASSIVE_AMAZON_CREDENTIAL_VERSION", "2.3")
    monkeypatch.setenv("PASSIVE_AMAZON_TOKEN_URL", "http://127.0.0.1:1/t")
    chosen = AmazonSettings()
    assert chosen.credential("client_id") == "env-id"
    assert chosen.token_endpoint() == "http://127.0.0.1:1/t"
    assert chosen.token_scope() == "creatorsapi/default"
    assert chosen.base_url == "https://creatorsapi.amazon"


def test_an_empty_zip_download_says_it_is_an_empty_zip_archive(tmp_path: Path) -> None:
    from connectors.amazon.errors import AmazonReportError

    download = tmp_path / "x.download"
    zipfile.ZipFile(download, "w").close()
    with pytest.raises(AmazonReportError, match=r"^earnings\.zip: an empty ZIP archive"):
        unpack(download, "earnings.zip", tmp_path / "out")
