"""Amazon Creators API Reporting API: OAuth2 token, listReports/getReport, verified download."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from connectors.errors import (
    ApiError,
    AuthError,
    ConnectorError,
    ResponseFormatError,
    ResponseTooLargeError,
    RetriableApiError,
    register_secret,
)
from connectors.http import ApiClient, Clock, make_client
from connectors.settings import AmazonSettings

from .marketplaces import get_marketplace

__all__ = [
    "AccessRevokedError",
    "CreatorsApi",
    "CreatorsAuth",
    "IntegrityError",
    "ReportListing",
    "TokenProvider",
    "marketplace_host",
]

log = logging.getLogger(__name__)

NETWORK = "amazon"
LIST_REPORTS = "/reports/v1/listReports"
GET_REPORT = "/reports/v1/getReport"
DEFAULT_EXPIRES_IN = 3600.0  # section 9: assume an hour when the answer has no expires_in
ACCESS_GATE = (
    "Amazon grants Creators API access only after 10 qualifying sales in 30 days and revokes "
    "it after 30 days without; it returns about 2 days after referred sales ship again"
)


class AccessRevokedError(AuthError):
    """403 from the Creators API: the account is not (or no longer) past the access gate."""


class IntegrityError(ConnectorError):
    """A downloaded report is not what listReports announced (size or md5): not loaded."""


def marketplace_host(code: str) -> str:
    """The `x-marketplace` value of a store: US -> www.amazon.com, UK -> www.amazon.co.uk."""
    return f"www.{get_marketplace(code).domain}"


@dataclass(frozen=True)
class ReportListing:
    """One entry of listReports: all four fields are required (the SDK's ReportMetadata)."""

    filename: str
    md5: str
    size: int
    last_modified: datetime  # UTC
    last_modified_text: str  # as Amazon wrote it


class TokenProvider:
    """OAuth2 client_credentials: one token reused until shortly before it expires.

    The body is form-encoded with the scope of the credential version (section 9; Amazon's
    SDK token manager sends the same four fields and assumes 3600 s without expires_in).
    """

    def __init__(self, settings: AmazonSettings, client: ApiClient, clock: Clock) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetched = 0  # tokens fetched so far (tests and the run summary)

    @property
    def endpoint(self) -> str:
        """The token URL in use."""
        return self._settings.token_endpoint()

    def token(self) -> str:
        """The current token, fetching a new one when none is held or it is about to expire."""
        with self._lock:
            if self._token is None or self._clock.time() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def refresh(self, rejected: str) -> str:
        """A new token after the API refused `rejected` (another thread may have done it)."""
        with self._lock:
            if self._token is None or self._token == rejected:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        settings = self._settings
        form = {
            "grant_type": "client_credentials",
            "client_id": settings.credential("client_id"),
            "client_secret": settings.credential("client_secret"),
            "scope": settings.token_scope(),
        }
        try:
            answer = self._client.post_form(self.endpoint, data=form)
        except AuthError as error:
            raise AuthError(
                f"{settings.label}: the token endpoint refused the credentials "
                f"({error.status_code}): check {self._credential_names()}",
                network=NETWORK,
                status_code=error.status_code,
            ) from None
        except RetriableApiError as error:
            # Not retriable one level up: the API request around it would retry it again.
            raise ApiError(
                f"{settings.label}: no token from {self.endpoint}: {error.message}",
                network=NETWORK,
                status_code=error.status_code,
            ) from None
        except ApiError as error:
            if error.status_code in (400, 401, 403):
                # OAuth2 answers invalid_client / invalid_scope with 400 (RFC 6749 5.2).
                raise AuthError(
                    f"{settings.label}: the token endpoint refused the credentials "
                    f"({error.message}): check {self._credential_names()}",
                    network=NETWORK,
                    status_code=error.status_code,
                ) from None
            raise
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ResponseFormatError(
                f"{settings.label}: the answer of {self.endpoint} has no access_token",
                network=NETWORK,
            )
        register_secret(token)
        expires_in = _seconds(answer.get("expires_in"))
        margin = min(settings.token_refresh_margin_seconds, expires_in / 2)
        self._token = token
        self._expires_at = self._clock.time() + expires_in - margin
        self.fetched += 1
        log.debug("%s: new token from %s, valid %.0f s", settings.label, self.endpoint, expires_in)

    def _credential_names(self) -> str:
        names = [
            *self._settings.secret_setting_names(),
            self._settings.env_name("credential_version"),
        ]
        if self._settings.token_url:
            names.append(self._settings.env_name("token_url"))
        return ", ".join(names)


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_EXPIRES_IN
    return seconds if seconds > 0 else DEFAULT_EXPIRES_IN


class CreatorsAuth(httpx.Auth):
    """`Authorization: Bearer <token>`; a 401 fetches one new token and sends the request again.

    A second 401 reaches the ApiClient, whose AuthError names the credential settings.
    """

    def __init__(self, tokens: TokenProvider, *, version: str | None = None) -> None:
        self._tokens = tokens
        self._version = version

    def _header(self, token: str) -> str:
        # Amazon's SDKs send `Bearer <token>, Version <v>`; other samples a plain Bearer [code].
        return f"Bearer {token}, Version {self._version}" if self._version else f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the token; on 401, refresh once and resend."""
        token = self._tokens.token()
        request.headers["Authorization"] = self._header(token)
        response = yield request
        if response.status_code == 401:
            log.info("Creators API refused the token (401); fetching a new one")
            request.headers["Authorization"] = self._header(self._tokens.refresh(token))
            yield request

    def __repr__(self) -> str:
        return "CreatorsAuth(token=[REDACTED])"


class CreatorsApi:
    """The Reporting API of one store (x-marketplace) under one credential.

    Three clients on the shared HTTP layer: the token endpoint, the API (bearer token) and the
    pre-signed download, which never carries the token: a pre-signed URL has its own
    signature, and the token must not travel to another host.
    """

    def __init__(
        self,
        settings: AmazonSettings,
        marketplace: str,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings.require_credentials()
        self.settings = settings
        self.marketplace = get_marketplace(marketplace).code
        self.host = marketplace_host(self.marketplace)
        common: dict[str, Any] = {
            "rate_limit": settings.rate_limit(),
            "timeout": settings.timeout_seconds,
            "retry": settings.retry_policy(),
            "secrets": settings.secret_values(),
            "credential_settings": settings.secret_setting_names(),
            "limits": settings.request_limits(),
            "clock": clock,
            "transport": transport,
        }
        token_url = httpx.URL(settings.token_endpoint())
        self._token_client = make_client(
            network="amazon-token",
            base_url=f"{token_url.scheme}://{token_url.netloc.decode('ascii')}",
            **common,
        )
        self._token_client.label = settings.label
        self.tokens = TokenProvider(settings, self._token_client, self._token_client.clock)
        version = settings.credential_version if settings.version_in_authorization else None
        self.api = make_client(
            network=NETWORK,
            base_url=settings.base_url,
            auth=CreatorsAuth(self.tokens, version=version),
            headers={"x-marketplace": self.host},
            **common,
        )
        self.api.label = settings.label
        # No auth and no default headers beyond the User-Agent: nothing of ours but the URL.
        self._download_client = make_client(network="amazon-download", base_url="", **common)
        self._download_client.label = f"{settings.label} download"

    def close(self) -> None:
        """Close the three HTTP clients."""
        for client in (self.api, self._token_client, self._download_client):
            client.close()

    def __enter__(self) -> CreatorsApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, path: str, body: dict[str, Any]) -> Any:
        try:
            return self.api.post_json(path, body=body)
        except AuthError as error:
            if error.status_code == 403:
                raise AccessRevokedError(
                    f"{self.settings.label} refused access for {self.host} (403): "
                    f"{ACCESS_GATE}; nothing was changed",
                    network=NETWORK,
                    status_code=403,
                ) from None
            raise

    def list_reports(self) -> list[ReportListing]:
        """Every report Amazon offers this store now."""
        # Amazon's SDK sends `{}` for a POST without parameters.
        answer = self._call(LIST_REPORTS, {})
        reports = answer.get("reports") if isinstance(answer, dict) else None
        if not isinstance(reports, list):
            raise ResponseFormatError(
                f"{self.settings.label}: the answer of {LIST_REPORTS} has no `reports` list",
                network=NETWORK,
            )
        return [self._listing(index, entry) for index, entry in enumerate(reports)]

    def _listing(self, index: int, entry: Any) -> ReportListing:
        where = f"{LIST_REPORTS} reports[{index}]"
        if not isinstance(entry, dict):
            raise ResponseFormatError(f"{where}: not an object", network=NETWORK)
        missing = [k for k in ("filename", "md5", "size", "lastModified") if entry.get(k) is None]
        if missing:
            raise ResponseFormatError(
                f"{where}: missing {', '.join(missing)} (all four fields are required)",
                network=NETWORK,
            )
        filename, md5 = entry["filename"], entry["md5"]
        if not isinstance(filename, str) or not filename.strip() or not isinstance(md5, str):
            raise ResponseFormatError(f"{where}: filename and md5 must be text", network=NETWORK)
        size = _byte_count(entry["size"])
        if size is None:
            raise ResponseFormatError(
                f"{where}: size {entry['size']!r} is not a byte count", network=NETWORK
            )
        text = str(entry["lastModified"])
        return ReportListing(filename, md5.strip(), size, parse_timestamp(text, where), text)

    def report_url(self, filename: str) -> str:
        """The pre-signed URL of one report (it expires: fetch it just before downloading)."""
        answer = self._call(GET_REPORT, {"filename": filename})
        url = answer.get("url") if isinstance(answer, dict) else None
        if not isinstance(url, str) or not httpx.URL(url).is_absolute_url:
            raise ResponseFormatError(
                f"{self.settings.label}: the answer of {GET_REPORT} for {filename} has no url",
                network=NETWORK,
            )
        return url

    def download(self, listing: ReportListing, target: Path) -> Path:
        """Fetch a report to `target` and check its size and md5 against the listing."""
        url = self.report_url(listing.filename)
        try:
            got = self._download_client.download(url, target, expected_size=listing.size)
        except ResponseTooLargeError:
            target.unlink(missing_ok=True)
            raise IntegrityError(
                f"{listing.filename}: the download ran past the {listing.size} bytes listReports "
                "said; not loaded, nothing was changed",
                network=NETWORK,
            ) from None
        except ApiError as error:
            target.unlink(missing_ok=True)
            raise ApiError(
                f"{listing.filename}: the pre-signed download failed ({error.message}); "
                "nothing was changed",
                network=NETWORK,
                status_code=error.status_code,
                url=error.url,
            ) from None
        if got.size != listing.size:
            target.unlink(missing_ok=True)
            raise IntegrityError(
                f"{listing.filename}: downloaded {got.size} bytes, listReports said "
                f"{listing.size}; not loaded, nothing was changed",
                network=NETWORK,
            )
        if not md5_matches(listing.md5, got.md5):
            target.unlink(missing_ok=True)
            raise IntegrityError(
                f"{listing.filename}: md5 of the download is {got.md5}, listReports said "
                f"{listing.md5}; not loaded, nothing was changed",
                network=NETWORK,
            )
        return target


def _byte_count(value: Any) -> int | None:
    # The SDK types size as a number (int or float); a JSON `123.0` arrives as Decimal here.
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        return None
    return int(number)


def md5_matches(announced: str, hex_digest: str) -> bool:
    """Compare an announced md5 (hex, an S3 ETag in quotes, or base64) with a hex digest."""
    text = announced.strip().strip('"').strip()
    if text.lower() == hex_digest.lower():
        return True
    try:
        return base64.b64decode(text, validate=True).hex() == hex_digest.lower()
    except (binascii.Error, ValueError):
        return False


def parse_timestamp(text: str, where: str) -> datetime:
    """lastModified as UTC: ISO 8601, epoch seconds or milliseconds, or an HTTP date."""
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        seconds = number / 1000 if number > 100_000_000_000 else number
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise ResponseFormatError(
                f"{where}: lastModified {text!r} is not a date and time", network=NETWORK
            ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
