"""The Creators API connector against the sandbox over real loopback HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.amazon.api import AccessRevokedError, CreatorsApi, IntegrityError
from connectors.errors import AuthError
from connectors.http import ManualClock
from connectors.settings import AmazonSettings
from sandbox.networks.amazon import COGNITO_PATH
from sandbox.server import SandboxHandle


@pytest.fixture
def sandbox(amazon_sandbox: SandboxHandle) -> SandboxHandle:
    return amazon_sandbox


def api(marketplace: str = "US", clock: ManualClock | None = None, **kw: object) -> CreatorsApi:
    # A manual clock: the limiter's and the retries' sleeps are recorded, not slept.
    return CreatorsApi(AmazonSettings(**kw), marketplace, clock=clock or ManualClock())  # type: ignore[arg-type]


def test_lwa_and_cognito_tokens_are_both_accepted(sandbox):
    with api() as lwa:
        assert lwa.list_reports()
    cognito_url = sandbox.base_url + COGNITO_PATH
    with api(credential_version="2.1", token_url=cognito_url) as cognito:
        assert cognito.list_reports()
    paths = [r["path"] for r in sandbox.requests("amazon-token")]
    assert paths == ["/auth/o2/token", COGNITO_PATH]


def test_a_wrong_scope_for_the_endpoint_is_refused_naming_the_settings(sandbox):
    cognito_url = sandbox.base_url + COGNITO_PATH
    with (
        api(credential_version="3.1", token_url=cognito_url) as wrong,
        pytest.raises(AuthError) as e,
    ):
        wrong.list_reports()
    assert "PASSIVE_AMAZON_CREDENTIAL_VERSION" in str(e.value)


def test_every_call_carries_the_stores_host_and_one_token_is_reused(sandbox):
    with api("UK") as uk:
        listed = uk.list_reports()
        for listing in listed[:2]:
            uk.report_url(listing.filename)
        assert uk.tokens.fetched == 1
    calls = sandbox.requests("amazon")
    assert {c["marketplace"] for c in calls} == {"www.amazon.co.uk"}
    assert {c["path"] for c in calls} == {"/reports/v1/listReports", "/reports/v1/getReport"}


def test_a_download_is_verified_and_never_carries_the_token(sandbox, tmp_path):
    with api() as us:
        for listing in us.list_reports():
            path = us.download(listing, tmp_path / listing.filename)
            assert path.stat().st_size == listing.size
            assert hashlib.md5(path.read_bytes()).hexdigest() == listing.md5
    downloads = sandbox.requests("amazon-download")
    assert downloads and all(d["authorization"] is None for d in downloads)
    assert all(d["status"] == 200 for d in downloads)


def test_the_download_path_refuses_authorization_and_altered_or_expired_signatures(sandbox):
    with api() as us:
        url = httpx.URL(us.report_url(us.list_reports()[0].filename))
    assert httpx.get(url).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer x"}).status_code == 400
    signature = url.params["X-Amz-Signature"]
    altered = url.copy_merge_params({"X-Amz-Signature": signature[:-1] + "0"})
    if altered == url:
        altered = url.copy_merge_params({"X-Amz-Signature": signature[:-1] + "1"})
    assert httpx.get(altered).status_code == 403
    later = str(int(url.params["X-Amz-Expires"]) + 60)
    assert httpx.get(url.copy_merge_params({"X-Amz-Expires": later})).status_code == 403
    expired = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
    signed = sandbox.amazon.sign("US", url.path.rsplit("/", 1)[1], expired)
    stale = url.copy_merge_params({"X-Amz-Expires": str(expired), "X-Amz-Signature": signed})
    response = httpx.get(stale)
    assert response.status_code == 403 and "expired" in response.text


def test_an_md5_mismatch_is_an_integrity_error_and_leaves_no_file(sandbox, tmp_path):
    sandbox.set_fault("amazon-download", "md5_mismatch")
    with api() as us:
        listing = us.list_reports()[0]
        with pytest.raises(IntegrityError, match="md5 of the download"):
            us.download(listing, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_revoked_account_is_one_clear_line_about_the_access_gate(sandbox):
    sandbox.amazon.revoked = True
    with api() as us, pytest.raises(AccessRevokedError) as caught:
        us.list_reports()
    text = str(caught.value)
    assert "\n" not in text and "10 qualifying sales in 30 days" in text
    assert "www.amazon.com" in text and "(403)" in text


def test_a_token_that_expires_mid_run_is_refreshed_once(sandbox):
    with api() as us:
        listing = us.list_reports()[0]
        sandbox.set_fault("amazon", "expire_token")
        assert us.report_url(listing.filename)
        assert us.tokens.fetched == 2


def test_a_token_refused_twice_fails_naming_the_credential_settings(sandbox):
    with api() as us:
        us.list_reports()
        sandbox.set_fault("amazon", "expire_token", count=2)
        with pytest.raises(AuthError) as caught:
            us.list_reports()
    assert caught.value.status_code == 401
    assert "PASSIVE_AMAZON_CLIENT_ID" in str(caught.value)
    assert us.tokens.fetched == 2


@pytest.mark.parametrize("kind", ["429", "429_date"])
def test_429_waits_as_retry_after_says_in_seconds_or_as_a_date(sandbox, kind):
    started = datetime.now(UTC).timestamp()
    clock = ManualClock(start=started)
    sandbox.set_fault("amazon", kind, retry_after=7)
    with api(clock=clock, rate_limit_requests=1000) as us:
        assert us.list_reports()
    # The server stamps its date from the real clock when it answers, while the manual clock
    # stays at `started`: a date-form wait also counts the real seconds that passed until then.
    lag = datetime.now(UTC).timestamp() - started if kind == "429_date" else 0.0
    waits = [s for s in clock.sleeps if s > 1]
    # 7 s (a date rounds to the second) + jitter
    assert len(waits) == 1 and 5 <= waits[0] <= 8 + lag


def test_a_500_is_retried(sandbox):
    sandbox.set_fault("amazon", "500", count=2)
    with api() as us:
        assert us.list_reports()
    assert [c["status"] for c in sandbox.requests("amazon")] == [500, 500, 200]


def test_the_default_pace_is_one_request_per_second(sandbox):
    clock = ManualClock()
    with api(clock=clock, rate_limit_requests=1) as us:  # the default (the fixture lifts it)
        listed = us.list_reports()
        for listing in listed[:3]:
            us.report_url(listing.filename)
    assert sum(clock.sleeps) == pytest.approx(3.0)


def test_the_token_is_never_in_an_error_message(sandbox):
    sandbox.amazon.revoked = True
    with api() as us:
        with pytest.raises(AccessRevokedError) as caught:
            us.list_reports()
        token = us.tokens.token()
    assert token not in str(caught.value) and token not in repr(caught.value)


def test_a_two_store_credential_lists_each_stores_own_reports(sandbox):
    with api("US") as us, api("UK") as uk:
        names_us = {r.filename for r in us.list_reports()}
        names_uk = {r.filename for r in uk.list_reports()}
    assert names_us and names_uk and not names_us & names_uk
