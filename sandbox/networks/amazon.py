"""Creators API emulation: both token endpoints, listReports, getReport, pre-signed downloads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request, Response

from connectors.amazon.api import GET_REPORT, LIST_REPORTS, marketplace_host
from connectors.amazon.marketplaces import MARKETPLACES
from sandbox.amazon_api import (
    SANDBOX_AMAZON_CLIENT_ID,
    SANDBOX_AMAZON_CLIENT_SECRET,
    AmazonApiData,
)
from sandbox.networks import SandboxState, serve

LWA_PATH = "/auth/o2/token"
COGNITO_PATH = "/oauth2/token"
DOWNLOAD_PREFIX = "/_amazon/s3"
LWA_SCOPE = "creatorsapi::default"
COGNITO_SCOPE = "creatorsapi/default"
URL_LIFETIME = 300  # seconds a pre-signed URL stays valid (S3 allows up to 7 days)
_STORES = {marketplace_host(code): code for code in MARKETPLACES}


@dataclass
class AmazonState:
    """Issued tokens, the pre-signing key and the switches tests flip."""

    data: AmazonApiData
    token_lifetime: int = 3600
    send_expires_in: bool = True
    revoked: bool = False  # the access gate closed: every API call answers 403
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0
    downloads: int = 0

    def reset(self) -> None:
        """First issue of every report, no tokens, gate open."""
        with self.lock:
            self.data.reset()
            self.tokens.clear()
            self.revoked = False
            self.send_expires_in = True
            self.token_lifetime = 3600
            self.issued = 0
            self.downloads = 0

    def issue(self) -> str:
        """A new bearer token."""
        token = f"amzn-sandbox-{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_lifetime
            self.issued += 1
        return token

    def valid(self, token: str) -> bool:
        """Whether `token` was issued here and has not expired."""
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_all(self) -> None:
        """Every token issued so far expires now (the switch "token expiry mid-run")."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def sign(self, store: str, filename: str, expires: int) -> str:
        """The signature of a download URL."""
        message = f"{store}\n{filename}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()


def amazon_state(state: SandboxState) -> AmazonState:
    """The Creators API part of a sandbox (made on first use)."""
    found: AmazonState | None = getattr(state, "amazon", None)
    if found is None:
        found = AmazonState(AmazonApiData(state.dataset.seed))
        state.amazon = found  # type: ignore[attr-defined]
    return found


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _api_error(status: int, reason: str, message: str) -> Response:
    # The SDK's exception shapes carry a message and a reason (models/*_exception_*).
    return _json({"message": message, "reason": reason}, status)


def _form(raw: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}


def _bearer(request: Request) -> str | None:
    # Plain `Bearer <token>`, or the SDKs' `Bearer <token>, Version <v>`.
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "bearer" or not rest.strip():
        return None
    return rest.split(",", 1)[0].strip()


def register(app: FastAPI, state: SandboxState) -> None:
    """Add the Creators API routes to the sandbox app."""
    amazon = amazon_state(state)

    async def token(request: Request, scope: str) -> Response:
        raw = await request.body()

        def build(entry: dict[str, Any]) -> Response:
            form = _form(raw)
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            basic = request.headers.get("authorization", "")
            if basic.lower().startswith("basic ") and not client_secret:
                # Cognito also takes the client in a Basic header (RFC 6749 2.3.1).
                pair = base64.b64decode(basic[6:]).decode("utf-8", "replace")
                client_id, _, client_secret = pair.partition(":")
            if form.get("grant_type") != "client_credentials":
                return _json({"error": "unsupported_grant_type"}, 400)
            if (client_id, client_secret) != (
                SANDBOX_AMAZON_CLIENT_ID,
                SANDBOX_AMAZON_CLIENT_SECRET,
            ):
                return _json({"error": "invalid_client"}, 401)
            if form.get("scope") != scope:
                return _json({"error": "invalid_scope", "error_description": scope}, 400)
            answer: dict[str, Any] = {"access_token": amazon.issue(), "token_type": "bearer"}
            if amazon.send_expires_in:
                answer["expires_in"] = amazon.token_lifetime
            return _json(answer)

        return await serve(state, "amazon-token", request, build)

    @app.post(LWA_PATH)
    async def lwa_token(request: Request) -> Response:
        return await token(request, LWA_SCOPE)

    @app.post(COGNITO_PATH)
    async def cognito_token(request: Request) -> Response:
        return await token(request, COGNITO_SCOPE)

    async def api_call(request: Request, answer: Any) -> Response:
        raw = await request.body()

        def build(entry: dict[str, Any]) -> Response:
            entry["marketplace"] = request.headers.get("x-marketplace")
            given = _bearer(request)
            if entry.get("fault") == "expire_token":
                amazon.expire_all()
            if given is None or not amazon.valid(given):
                return _api_error(401, "InvalidToken", "The access token is invalid or expired")
            if amazon.revoked or entry.get("fault") == "403":
                return _api_error(
                    403,
                    "AccessDenied",
                    "Your account does not currently meet the eligibility requirements",
                )
            store = _STORES.get(request.headers.get("x-marketplace", ""))
            if store is None:
                return _api_error(400, "InvalidArgument", "x-marketplace is not a known store")
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return _api_error(400, "InvalidArgument", "the body is not JSON")
            result: Response = answer(store, body if isinstance(body, dict) else {})
            return result

        return await serve(state, "amazon", request, build)

    @app.post(LIST_REPORTS)
    async def list_reports(request: Request) -> Response:
        def answer(store: str, body: dict[str, Any]) -> Response:
            return _json({"reports": [r.listing() for r in amazon.data.listing(store)]})

        return await api_call(request, answer)

    @app.post(GET_REPORT)
    async def get_report(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")

        def answer(store: str, body: dict[str, Any]) -> Response:
            filename = body.get("filename")
            if not isinstance(filename, str) or amazon.data.get(store, filename) is None:
                return _api_error(404, "ResourceNotFound", f"no report {filename!r}")
            expires = int(time.time()) + URL_LIFETIME
            signature = amazon.sign(store, filename, expires)
            url = (
                f"{base}{DOWNLOAD_PREFIX}/{store}/{quote(filename, safe='')}"
                f"?X-Amz-Expires={expires}&X-Amz-Signature={signature}"
            )
            return _json({"url": url})

        return await api_call(request, answer)

    @app.get(DOWNLOAD_PREFIX + "/{store}/{filename}")
    async def download(store: str, filename: str, request: Request) -> Response:
        def build(entry: dict[str, Any]) -> Response:
            if "authorization" in request.headers:
                # S3 refuses a pre-signed request that also carries credentials.
                return _api_error(
                    400, "InvalidArgument", "Only one auth mechanism allowed; Authorization sent"
                )
            try:
                expires = int(request.query_params.get("X-Amz-Expires", ""))
            except ValueError:
                return _api_error(403, "AccessDenied", "Query-string authentication required")
            given = request.query_params.get("X-Amz-Signature", "")
            if not hmac.compare_digest(given, amazon.sign(store, filename, expires)):
                return _api_error(403, "SignatureDoesNotMatch", "The signature does not match")
            if time.time() > expires:
                return _api_error(403, "AccessDenied", "Request has expired")
            report = amazon.data.get(store, filename)
            if report is None:
                return _api_error(404, "NoSuchKey", "The specified key does not exist")
            data = report.data
            if entry.get("fault") == "md5_mismatch":
                data = data[:-1] + bytes([data[-1] ^ 0xFF])  # same size, other bytes
            with amazon.lock:
                amazon.downloads += 1
            return Response(data, media_type="application/octet-stream")

        return await serve(state, "amazon-download", request, build)

    @app.post("/_sandbox/amazon/reissue")
    async def reissue(store: str = "US", filename: str | None = None) -> dict[str, Any]:
        report = amazon.data.reissue(store, filename) if filename else amazon.data.reissue(store)
        return report.listing()

    @app.post("/_sandbox/amazon/revoke")
    async def revoke(revoked: bool = True) -> dict[str, Any]:
        amazon.revoked = revoked
        return {"revoked": revoked}
