"""Typed connector errors and the secret redaction every error and log line passes through."""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[REDACTED]"

_MIN_SECRET_LENGTH = 4  # shorter "secrets" would shred ordinary words in messages
_known_secrets: set[str] = set()
_known_lock = threading.Lock()

# `Authorization: Bearer x`, `'authorization': 'Basic x'`, `authorization=x`: keep the scheme,
# drop the credential. Bare `Bearer x` / `Basic x` fragments are scrubbed as well.
_AUTH_HEADER = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)((?:basic|bearer|token)\s+)?"
    r"(?!\[REDACTED\])([^\s\"',}\]]+)"
)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+(?!\[REDACTED\])([A-Za-z0-9._~+/=\-]{8,})")
# Query-string credentials, e.g. Awin's legacy `accessToken=` (affiliate-formats.md section 4),
# and the signature of a pre-signed download URL (S3's X-Amz-*; the Creators API's getReport).
_QUERY_TOKEN = re.compile(
    r"(?i)([?&;\s](?:access_?token|auth_?token|token|api_?key|apikey|password|secret|"
    r"client_secret|x-amz-signature|x-amz-security-token|x-amz-credential|signature)=)"
    r"(?!\[REDACTED\])([^&\s#\"']+)"
)


def register_secret(*values: str | None) -> None:
    """Remember secret values (and their encoded forms) so every later message scrubs them."""
    with _known_lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LENGTH:
                _known_secrets.update(_encodings(value))


def register_basic_credentials(username: str, password: str) -> None:
    """Remember a Basic-auth pair: the base64 header value would otherwise leak both."""
    register_secret(password)
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    register_secret(token)


def _encodings(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value, safe="/")}


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Scrub known secret values, Authorization credentials and query tokens from `text`."""
    with _known_lock:
        secrets = set(_known_secrets)
    for value in extra_secrets:
        if value and len(value) >= _MIN_SECRET_LENGTH:
            secrets.update(_encodings(value))
    # Longest first so a secret that contains another is removed whole.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{m[2] or ''}{REDACTED}", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m[1]} {REDACTED}", text)
    return _QUERY_TOKEN.sub(lambda m: f"{m[1]}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record once and stores the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its redacted rendering; never drop records."""
        record.msg, record.args = redact(record.getMessage()), None
        return True


def install_log_redaction(*logger_names: str) -> None:
    """Attach one RedactingFilter to each named logger (idempotent)."""
    for name in logger_names:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


class ConnectorError(Exception):
    """Base of every connector error; its text is redacted when the error is built."""

    def __init__(self, message: str, *, network: str | None = None) -> None:
        self.message = redact(message)
        self.network = network
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class SettingsError(ConnectorError):
    """A required setting is missing or malformed; raised before any request is sent."""


class ApiError(ConnectorError):
    """The API answered with an error (HTTP status or a GraphQL `errors` list)."""

    def __init__(
        self,
        message: str,
        *,
        network: str | None = None,
        status_code: int | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, network=network)
        self.status_code = status_code
        self.url = redact(url) if url else None


class AuthError(ApiError):
    """401/403: the credentials were rejected; the message names the setting to fix."""


class RetriableApiError(ApiError):
    """429, 5xx or a connection/read failure: worth retrying (and raised once retries ran out)."""

    def __init__(
        self,
        message: str,
        *,
        network: str | None = None,
        status_code: int | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, network=network, status_code=status_code, url=url)
        self.retry_after = retry_after


class RequestTimeoutError(RetriableApiError):
    """A request stalled (no byte within the read timeout) or ran past its overall deadline."""


class ResponseTooLargeError(ApiError):
    """A response body is larger than the configured cap; it was refused, not read whole."""


class PaginationError(ConnectorError):
    """The API's paging went wrong: a cursor repeated, or a next link left the API's host."""


class ResponseFormatError(ConnectorError):
    """A response body was not the documented shape: malformed or truncated JSON, wrong type."""
