"""Typed per-network API settings read from PASSIVE_* environment variables and `.env`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import ClassVar

import httpx
from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.errors import SettingsError, register_basic_credentials, register_secret
from connectors.http import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_RESPONSE_MB,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_REQUEST_DEADLINE,
    DEFAULT_TIMEOUT_ATTEMPTS,
    RateLimit,
    RequestLimits,
    RetryPolicy,
)


class NetworkSettings(BaseSettings):
    """Settings every API network shares: timeouts and retry policy."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    label: ClassVar[str] = ""
    network: ClassVar[str] = ""  # the ledger's `network` value
    credential_fields: ClassVar[tuple[str, ...]] = ()
    # The credential that identifies the login whose quota a request spends (impact.com
    # counts per Account SID, Awin and CJ per user token): accounts sharing it share a bucket.
    login_field: ClassVar[str] = ""

    base_url: str = Field(description="Scheme and host of the API; the connector adds the path.")
    account_name: str | None = Field(
        default=None,
        description="Your name for this account, shown in titles instead of its id or SID.",
    )
    _from_blocks: dict[str, str] = PrivateAttr(default_factory=dict)
    # Set by connectors/accounts.py: the account's name, which the ledger's `account` column
    # holds, and the environment variable of each setting (PASSIVE_<ACCOUNT>_<SETTING>).
    _account: str = PrivateAttr(default="")
    _variables: dict[str, str] = PrivateAttr(default_factory=dict)
    lookback_days: int = Field(ge=1, description="Default pull re-reads this many days back.")
    max_window_days: int = Field(ge=1, description="Longest date range sent in one request.")
    rate_limit_requests: int = Field(ge=1, description="Client-side quota: requests per period.")
    rate_limit_period_seconds: float = Field(gt=0, description="Length of the quota period.")
    rate_limit_burst: int = Field(ge=1, description="Requests allowed back to back.")
    timeout_seconds: float = Field(
        default=DEFAULT_READ_TIMEOUT, gt=0, description="Seconds a read may wait for a byte."
    )
    request_deadline_seconds: float = Field(
        default=DEFAULT_REQUEST_DEADLINE,
        gt=0,
        description="Seconds one request may take in all: connect, headers and whole body.",
    )
    max_attempts: int = Field(default=5, ge=1, le=20, description="Tries per request (429/5xx).")
    timeout_attempts: int = Field(
        default=DEFAULT_TIMEOUT_ATTEMPTS,
        ge=1,
        le=20,
        description="Tries of a request that stalled or ran out its deadline.",
    )
    max_retry_wait_seconds: float = Field(
        default=900.0, ge=0, description="Longest server-requested wait honoured before failing."
    )
    max_response_mb: float = Field(
        default=DEFAULT_MAX_RESPONSE_MB, gt=0, description="Largest response body read (MiB)."
    )
    max_pages: int = Field(
        default=DEFAULT_MAX_PAGES, ge=1, description="Most pages one pull may request."
    )

    @field_validator("base_url")
    @classmethod
    def _scheme_and_host_only(cls, value: str) -> str:
        url = httpx.URL(value.strip())
        if (
            url.scheme not in ("http", "https")
            or not url.host
            or url.path not in ("", "/")
            or url.query
            or url.fragment
            or url.userinfo
        ):
            raise ValueError(
                f"must be scheme and host only, e.g. https://api.example.com (got {value!r})"
            )
        return value.strip().rstrip("/")

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets `field`."""
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    def name_account(self, account: str, variables: Mapping[str, str]) -> None:
        """File these settings' lines under `account`, whose settings `variables` name."""
        self._account = account
        self._variables = dict(variables)

    def ledger_account(self) -> str:
        """The ledger's `account` value: the account's name in passive.toml, else the network's
        (the one account the PASSIVE_<NETWORK>_* variables describe; migration 007)."""
        return self._account or self.network

    def setting_name(self, field: str) -> str:
        """The environment variable that sets `field` for this account."""
        return self._variables.get(field) or self.env_name(field)

    def login_key(self) -> str:
        """Who the network counts requests against: the network and a digest of the login
        credential (never the credential itself, which may be a token)."""
        text = self._credential_text(self.login_field) if self.login_field else ""
        return f"{self.network}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def _credential_text(self, name: str) -> str:
        value = getattr(self, name)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return str(text).strip() if text else ""

    def require_credentials(self) -> None:
        """Raise SettingsError naming every missing credential env var; register the secrets."""
        missing = [
            self.setting_name(n) for n in self.credential_fields if not self._credential_text(n)
        ]
        if missing:
            raise SettingsError(
                f"{self.label}: missing {', '.join(missing)}; set "
                f"{'it' if len(missing) == 1 else 'them'} in the environment or in .env"
            )
        register_secret(*self.secret_values())

    def credential(self, name: str) -> str:
        """One credential's value (secret unwrapped, stripped), or SettingsError naming its var."""
        text = self._credential_text(name)
        if not text:
            self.require_credentials()
        return text

    def secret_values(self) -> tuple[str, ...]:
        """Every SecretStr value, for redaction."""
        return tuple(
            value.get_secret_value()
            for value in (getattr(self, name) for name in type(self).model_fields)
            if isinstance(value, SecretStr)
        )

    def note_secret_blocks(self, blocks: Mapping[str, str]) -> None:
        """Record which settings were read from Prefect Secret blocks (field -> block name)."""
        self._from_blocks = dict(blocks)

    def credential_source(self, field: str) -> str:
        """Where a setting's value came from: a Secret block, the environment or `.env`."""
        block = self._from_blocks.get(field)
        if block:
            return f"the Secret block {block}"
        return "the environment" if self.setting_name(field) in os.environ else ".env"

    def secret_setting_names(self) -> tuple[str, ...]:
        """The credentials an authentication failure should point at, each with its source:
        a Secret block silently winning over the environment would send the user to the
        wrong place."""
        return tuple(
            f"{self.setting_name(name)} (from {self.credential_source(name)})"
            for name in self.credential_fields
        )

    def rate_limit(self) -> RateLimit:
        """The client-side quota as a RateLimit."""
        return RateLimit(
            self.rate_limit_requests, self.rate_limit_period_seconds, self.rate_limit_burst
        )

    def retry_policy(self) -> RetryPolicy:
        """The retry policy for this network."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_server_wait=self.max_retry_wait_seconds,
            timeout_attempts=self.timeout_attempts,
        )

    def timeout(self) -> httpx.Timeout:
        """Per-wait timeouts: `timeout_seconds` for reads and writes, connect capped at 10 s."""
        return httpx.Timeout(
            self.timeout_seconds, connect=min(DEFAULT_CONNECT_TIMEOUT, self.timeout_seconds)
        )

    def request_limits(self) -> RequestLimits:
        """The request deadline, the response size cap and the page ceiling."""
        return RequestLimits(
            deadline=self.request_deadline_seconds,
            max_response_bytes=max(1, int(self.max_response_mb * 2**20)),
            max_pages=self.max_pages,
        )


class ImpactSettings(NetworkSettings):
    """impact.com Partner API (Mediapartners) settings."""

    model_config = SettingsConfigDict(env_prefix="PASSIVE_IMPACT_")
    label: ClassVar[str] = "impact.com"
    network: ClassVar[str] = "impact"
    login_field: ClassVar[str] = "account_sid"
    credential_fields: ClassVar[tuple[str, ...]] = ("account_sid", "auth_token")

    account_sid: str | None = Field(
        default=None, description="Account SID: Basic-auth user and part of every path."
    )
    auth_token: SecretStr | None = Field(default=None, description="Auth token (Basic password).")
    base_url: str = Field(default="https://api.impact.com", description="Scheme and host only.")
    page_size: int = Field(default=20000, ge=1, le=20000, description="Actions per page.")
    lookback_days: int = Field(default=90, ge=1, description="Days of last-updated to re-read.")
    max_window_days: int = Field(
        default=45, ge=1, le=45, description="StartDate..EndDate span (API maximum 45 days)."
    )
    rate_limit_requests: int = Field(default=1000, ge=1, description="Requests per period.")
    rate_limit_period_seconds: float = Field(default=3600.0, gt=0, description="Quota period.")
    rate_limit_burst: int = Field(default=50, ge=1, description="Requests allowed back to back.")

    def require_credentials(self) -> None:
        """Check both credentials and register the Basic-auth header value for redaction."""
        super().require_credentials()
        if self.account_sid and self.auth_token is not None:
            register_basic_credentials(self.account_sid, self.auth_token.get_secret_value())


class AwinSettings(NetworkSettings):
    """Awin Publisher API settings."""

    model_config = SettingsConfigDict(env_prefix="PASSIVE_AWIN_")
    label: ClassVar[str] = "Awin"
    network: ClassVar[str] = "awin"
    login_field: ClassVar[str] = "token"
    credential_fields: ClassVar[tuple[str, ...]] = ("token", "publisher_id")

    token: SecretStr | None = Field(default=None, description="Personal OAuth2 API token.")
    publisher_id: str | None = Field(default=None, description="Publisher (account) id.")
    base_url: str = Field(default="https://api.awin.com", description="Scheme and host only.")
    lookback_days: int = Field(default=90, ge=1, description="Days to re-read in both passes.")
    max_window_days: int = Field(
        default=31, ge=1, le=31, description="startDate..endDate span (API maximum 31 days)."
    )
    rate_limit_requests: int = Field(default=20, ge=1, description="Requests per period.")
    rate_limit_period_seconds: float = Field(default=60.0, gt=0, description="Quota period.")
    rate_limit_burst: int = Field(default=10, ge=1, description="Requests allowed back to back.")


class CJSettings(NetworkSettings):
    """CJ Commission Detail (GraphQL) API settings."""

    model_config = SettingsConfigDict(env_prefix="PASSIVE_CJ_")
    label: ClassVar[str] = "CJ"
    network: ClassVar[str] = "cj"
    login_field: ClassVar[str] = "token"
    credential_fields: ClassVar[tuple[str, ...]] = ("token", "publisher_id")

    token: SecretStr | None = Field(default=None, description="Personal access token.")
    publisher_id: str | None = Field(default=None, description="Publisher (CID) id.")
    base_url: str = Field(
        default="https://commissions.api.cj.com", description="Scheme and host only."
    )
    lookback_days: int = Field(default=62, ge=1, description="Days of posting date to re-read.")
    max_window_days: int = Field(
        default=31, ge=1, le=31, description="Posting-date span per query (kept within 31 days)."
    )
    rate_limit_requests: int = Field(default=60, ge=1, description="Requests per period.")
    rate_limit_period_seconds: float = Field(default=60.0, gt=0, description="Quota period.")
    rate_limit_burst: int = Field(default=10, ge=1, description="Requests allowed back to back.")


# Creators API token endpoints by credential version (affiliate-formats.md sections 1.1 and 9):
# 2.x credentials are Cognito app clients, 3.x are Login with Amazon, one per region.
AMAZON_TOKEN_ENDPOINTS: dict[str, str] = {
    "2.1": "https://creatorsapi.auth.us-east-1.amazoncognito.com/oauth2/token",
    "2.2": "https://creatorsapi.auth.eu-south-2.amazoncognito.com/oauth2/token",
    "2.3": "https://creatorsapi.auth.us-west-2.amazoncognito.com/oauth2/token",
    "3.1": "https://api.amazon.com/auth/o2/token",
    "3.2": "https://api.amazon.co.uk/auth/o2/token",
    "3.3": "https://api.amazon.co.jp/auth/o2/token",
}
AMAZON_COGNITO_SCOPE = "creatorsapi/default"
AMAZON_LWA_SCOPE = "creatorsapi::default"


class AmazonSettings(NetworkSettings):
    """Amazon Creators API (Reporting API) settings; one credential serves every store."""

    model_config = SettingsConfigDict(env_prefix="PASSIVE_AMAZON_")
    label: ClassVar[str] = "Amazon Creators API"
    network: ClassVar[str] = "amazon"
    login_field: ClassVar[str] = "client_id"
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    client_id: str | None = Field(default=None, description="Creators API credential id.")
    client_secret: SecretStr | None = Field(
        default=None, description="Creators API credential secret."
    )
    credential_version: str = Field(
        default="3.1",
        description="Credential version shown with the credential: 2.1-2.3 (Cognito) or "
        "3.1-3.3 (Login with Amazon); it picks the token endpoint and scope.",
    )
    token_url: str | None = Field(
        default=None, description="Full token endpoint URL, overriding the version's."
    )
    base_url: str = Field(default="https://creatorsapi.amazon", description="Scheme and host only.")
    # Reports are listed whole, not by date window: these two shared settings are not used.
    lookback_days: int = Field(default=1, ge=1, description="Unused: reports are listed whole.")
    max_window_days: int = Field(default=1, ge=1, description="Unused: no date windows.")
    # python-amazon-paapi 7's throttling default is one request per second (section 9).
    rate_limit_requests: int = Field(default=1, ge=1, description="Requests per period.")
    rate_limit_period_seconds: float = Field(default=1.0, gt=0, description="Quota period.")
    rate_limit_burst: int = Field(default=1, ge=1, description="Requests allowed back to back.")
    token_refresh_margin_seconds: float = Field(
        default=60.0, ge=0, description="Fetch a new token this long before the old expires."
    )
    version_in_authorization: bool = Field(
        default=False,
        description="Send `Authorization: Bearer <token>, Version <v>` as Amazon's SDKs do, "
        "instead of the plain `Bearer <token>`.",
    )

    @field_validator("credential_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        value = value.strip()
        if value not in AMAZON_TOKEN_ENDPOINTS:
            raise ValueError(
                f"unknown credential version {value!r}; expected one of "
                + ", ".join(AMAZON_TOKEN_ENDPOINTS)
            )
        return value

    @field_validator("token_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = httpx.URL(value.strip())
        if url.scheme not in ("http", "https") or not url.host or url.userinfo:
            raise ValueError(f"must be an http(s) URL, e.g. {AMAZON_TOKEN_ENDPOINTS['3.1']}")
        return value.strip()

    def token_endpoint(self) -> str:
        """The token URL: the override, else the credential version's endpoint."""
        return self.token_url or AMAZON_TOKEN_ENDPOINTS[self.credential_version]

    def token_scope(self) -> str:
        """`creatorsapi/default` for Cognito (2.x) credentials, `creatorsapi::default` for LWA."""
        if self.credential_version.startswith("2."):
            return AMAZON_COGNITO_SCOPE
        return AMAZON_LWA_SCOPE
