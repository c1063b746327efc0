"""ECB euro reference rates: fetched over the shared HTTP client, or read from a file.

The ECB publishes one fixing per TARGET working day around 16:00 CET, as `eurofxref-hist.zip`
(one wide CSV: `Date`, one column per currency, a trailing empty column, `N/A` where a
currency has no rate) and as XML (`eurofxref-hist-90d.xml`, `eurofxref-daily.xml`;
affiliate-formats.md section 11). Every shape is read into raw fixings here; validation is
schemas.fx's. `N/A` and empty cells are no rate: they are skipped, never read as zero.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import ClassVar, Literal
from xml.etree import ElementTree

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from connectors.errors import ConnectorError
from connectors.http import ApiClient, RateLimit, make_client
from connectors.settings import NetworkSettings
from connectors.source import Source

DEFAULT_BASE_URL = "https://www.ecb.europa.eu"
HISTORY_PATH = "/stats/eurofxref/eurofxref-hist.zip"
RECENT_PATH = "/stats/eurofxref/eurofxref-hist-90d.xml"
DAILY_PATH = "/stats/eurofxref/eurofxref-daily.xml"
NO_RATE = frozenset({"", "N/A"})
_ZIP_MAGIC = b"PK\x03\x04"

SOURCE = Source(
    name="ecb",
    label="ECB",
    raw_model="ecb.fixing",
    # A corrected fixing for a day replaces the one held (warehouse.fx.load_fixings).
    primary_key=("day", "currency"),
    disposition="upsert",
)
"""The ECB's euro reference rates, declared; the model is schemas.fx's."""

RawFixing = dict[str, str]
"""`day`, `currency` and `per_eur` as the file spells them (the schema reads them)."""


class RatesFileError(ConnectorError):
    """A rates file is not one of the ECB's shapes; the message names the file and the place."""


class FxSettings(NetworkSettings):
    """Where the ECB's files are fetched from (`PASSIVE_FX_BASE_URL`: scheme and host only)."""

    model_config = SettingsConfigDict(env_prefix="PASSIVE_FX_")
    label: ClassVar[str] = "ECB"

    base_url: str = Field(default=DEFAULT_BASE_URL, description="Scheme and host only.")
    # The files are public; the window and lookback fields of the API networks do not apply.
    lookback_days: int = Field(default=90, ge=1, description="Days the update file covers.")
    max_window_days: int = Field(default=90, ge=1, description="Unused: one file per fetch.")
    rate_limit_requests: int = Field(default=10, ge=1, description="Requests per period.")
    rate_limit_period_seconds: float = Field(default=1.0, gt=0, description="Quota period.")
    rate_limit_burst: int = Field(default=2, ge=1, description="Requests allowed back to back.")
    timeout_seconds: float = Field(default=120.0, gt=0, description="Per-request read timeout.")


@dataclass(frozen=True)
class RatesFile:
    """The bytes of one rates file and the name its fixings are traced to."""

    name: str
    content: bytes

    def fixings(self) -> Iterator[tuple[str, RawFixing]]:
        """Every published rate as (locator, raw fixing); see parse_rates."""
        return parse_rates(self.content, self.name)


def parse_rates(content: bytes, name: str) -> Iterator[tuple[str, RawFixing]]:
    """The fixings of a zip, a CSV or an XML file, as (locator, raw fixing), in file order."""
    if content.startswith(_ZIP_MAGIC):
        return _parse_zip(content, name)
    text = _decode(content, name)
    if text.lstrip().startswith("<"):
        return _parse_xml(text, name)
    return _parse_csv(text, name)


def read_rates_file(path: Path) -> RatesFile:
    """A downloaded rates file (zip, CSV or XML) from disk."""
    try:
        return RatesFile(str(path), path.read_bytes())
    except OSError as error:
        raise RatesFileError(f"{path}: cannot read it ({error.strerror or error})") from None


def _decode(content: bytes, name: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RatesFileError(
            f"{name}: not a rates file (byte {error.start} is not UTF-8); expected the ECB's "
            "eurofxref zip, CSV or XML"
        ) from None


def _parse_zip(content: bytes, name: str) -> Iterator[tuple[str, RawFixing]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as error:
        raise RatesFileError(f"{name}: a damaged zip ({error})") from None
    with archive:
        members = [
            m
            for m in archive.namelist()
            if m.lower().endswith((".csv", ".xml")) and not m.endswith("/")
        ]
        if len(members) != 1:
            raise RatesFileError(
                f"{name}: expected one .csv or .xml rates file in the zip (as eurofxref-hist.zip "
                f"holds eurofxref-hist.csv); found {len(members)}: {', '.join(members) or 'none'}"
            )
        inner = archive.read(members[0])
    return parse_rates(inner, f"{name}:{members[0]}")


def _no_rate(currency: str, value: str) -> bool:
    """`N/A` or empty; also EUR at 1, which a hand-made file may list (the euro is implied)."""
    if value in NO_RATE:
        return True
    if currency != "EUR":
        return False
    try:
        return Decimal(value) == 1
    except ArithmeticError:
        return False  # the schema says what is wrong with it


def _day_text(cell: str) -> str:
    """ISO dates as they are; the daily CSV's `05 January 2024` as 2024-01-05."""
    try:
        return datetime.strptime(cell, "%d %B %Y").date().isoformat()  # noqa: DTZ007
    except ValueError:
        return cell


def _parse_csv(text: str, name: str) -> Iterator[tuple[str, RawFixing]]:
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if not header or header[0].strip() != "Date":
        raise RatesFileError(
            f"{name}:1: expected the ECB's CSV header `Date,USD,JPY,...`; got "
            f"{','.join(header or [])[:80]!r}"
        )
    currencies = [cell.strip().upper() for cell in header[1:]]
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        extra = [c for c in cells[len(header) :] if c]
        if extra:
            raise RatesFileError(
                f"{name}:{number}: {len(cells)} cells under a header of {len(header)} columns"
            )
        day = _day_text(cells[0])
        for currency, value in zip(currencies, cells[1:], strict=False):
            if not currency or _no_rate(currency, value):
                continue  # the trailing empty column, or no rate that day
            raw = {"day": day, "currency": currency, "per_eur": value}
            yield f"{name}:{number} {currency}", raw


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parse_xml(text: str, name: str) -> Iterator[tuple[str, RawFixing]]:
    # <Cube><Cube time="2024-01-05"><Cube currency="USD" rate="1.0921"/>... in the
    # eurofxref namespace; matched by local name so a changed namespace URI still reads.
    # The stdlib parser: expat >= 2.4.1 refuses entity-expansion bombs.
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        line, column = error.position
        raise RatesFileError(f"{name}:{line}:{column}: not well-formed XML ({error})") from None
    days = [e for e in root.iter() if _local(e.tag) == "Cube" and "time" in e.attrib]
    if not days:
        raise RatesFileError(
            f"{name}: no <Cube time=...> element; expected the ECB's eurofxref XML"
        )
    for day_cube in days:
        day = day_cube.attrib["time"].strip()
        for cube in day_cube:
            if _local(cube.tag) != "Cube" or "currency" not in cube.attrib:
                continue
            currency = cube.attrib["currency"].strip().upper()
            value = cube.attrib.get("rate", "").strip()
            if _no_rate(currency, value):
                continue
            raw = {"day": day, "currency": currency, "per_eur": value}
            yield f"{name}: {day} {currency}", raw


def ecb_client(settings: FxSettings) -> ApiClient:
    """The shared HTTP client pointed at the ECB (or PASSIVE_FX_BASE_URL)."""
    return make_client(
        network="ECB",
        base_url=settings.base_url,
        headers={"Accept": "application/zip, application/xml, text/xml, text/csv, */*"},
        rate_limit=RateLimit(
            settings.rate_limit_requests,
            settings.rate_limit_period_seconds,
            settings.rate_limit_burst,
        ),
        timeout=settings.timeout_seconds,
        retry=settings.retry_policy(),
    )


def fetch_rates(
    which: Literal["history", "recent", "daily"],
    settings: FxSettings | None = None,
    *,
    client: ApiClient | None = None,
) -> RatesFile:
    """Download the full history (zip), the last 90 days (XML) or the latest fixing (XML)."""
    settings = settings or FxSettings()
    path = {"history": HISTORY_PATH, "recent": RECENT_PATH, "daily": DAILY_PATH}[which]
    api = client or ecb_client(settings)
    try:
        response = api.get_response(path)
    finally:
        if client is None:
            api.close()
    return RatesFile(str(response.request.url), response.content)
