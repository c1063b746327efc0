"""The shared HTTP layer's form POST and streamed download (used by the Creators API)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from connectors.errors import ApiError
from connectors.http import ManualClock, RateLimit, RetryPolicy, make_client


def client(handler, clock: ManualClock | None = None):
    return make_client(
        network="amazon-download",
        base_url="",
        rate_limit=RateLimit(1000, 1),
        retry=RetryPolicy(jitter=0.0),
        clock=clock or ManualClock(),
        transport=httpx.MockTransport(handler),
    )


def test_a_download_retried_after_a_500_keeps_only_the_last_attempts_bytes(tmp_path):
    answers = [httpx.Response(500, text="oops" * 100), httpx.Response(200, content=b"report")]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    got = client(handler).download("https://bucket.test/r.gz?X-Amz-Signature=abc", tmp_path / "r")
    assert (got.size, got.md5) == (6, hashlib.md5(b"report").hexdigest())
    assert (tmp_path / "r").read_bytes() == b"report"


def test_a_refused_download_names_the_url_without_its_signature(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "Request has expired"})

    with pytest.raises(ApiError) as caught:
        client(handler).download("https://bucket.test/r?X-Amz-Signature=s3cr3tsig", tmp_path / "r")
    assert caught.value.status_code == 403 and "Request has expired" in str(caught.value)
    assert caught.value.url is not None and "bucket.test/r" in caught.value.url
    assert "s3cr3tsig" not in caught.value.url


def test_a_form_post_is_url_encoded_not_json():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": 1.5})

    answer = client(handler).post_form("https://auth.test/token", data={"a": "b c", "d": "e"})
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen[0].content == b"a=b+c&d=e"
    assert str(answer["ok"]) == "1.5"


def test_a_download_longer_than_announced_is_refused_as_it_arrives(tmp_path):
    from connectors.errors import ResponseTooLargeError

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 5000)

    with pytest.raises(ResponseTooLargeError):
        client(handler).download("https://bucket.test/r", tmp_path / "r", expected_size=4999)
