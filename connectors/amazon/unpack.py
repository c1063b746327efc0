"""A downloaded Creators API report: decompress by magic bytes, tell its type, find its period."""

from __future__ import annotations

import calendar
import codecs
import contextlib
import csv
import gzip
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from connectors import digests

from .columns import normalise_header, resolve_header
from .errors import AmazonReportError
from .marketplaces import get_marketplace, parse_title_date
from .reports import EARNINGS_REPORT

_GZIP_MAGIC = b"\x1f\x8b"
# A ZIP starts with a local file header, or with its end record when it holds no file (an
# empty archive is 22 bytes: read as text it said "unexpected columns 'PK...'", issue 10).
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_CHUNK = 1 << 20
_HEAD_BYTES = 64 * 1024
# The title line of every Associates report (affiliate-formats.md section 1.2).
_TITLE = re.compile(
    r"\"?\s*(?P<type>[^\s,;\t\"]+)\s+reports?\s+from\s+(?P<start>[\d./-]+)"
    r"(?:\s+to\s+(?P<end>[\d./-]+))?",
    re.IGNORECASE,
)
# Other report types seen in section 1.3, by the words of their header or file name.
ORDERS, TRACKING, LINK_TYPE, DAILY_TRENDS, BOUNTY = (
    "Fee-Orders",
    "Fee-Tracking",
    "Fee-LinkType",
    "Fee-DailyTrends",
    "Fee-Bounty",
)
_NAME_TYPES = (
    ("earnings", EARNINGS_REPORT),
    ("orders", ORDERS),
    ("tracking", TRACKING),
    ("linktype", LINK_TYPE),
    ("dailytrends", DAILY_TRENDS),
    ("trends", DAILY_TRENDS),
    ("bount", BOUNTY),
)
_FULL_DATE = re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)")
_STORE_DATE = re.compile(r"(?<!\d)\d{2}[-.]\d{2}[-.]20\d{2}(?!\d)")
_MONTH = re.compile(r"(?<!\d)(20\d{2})-(\d{2})(?![\d-])")


@dataclass(frozen=True)
class UnpackedReport:
    """One plain report file taken out of a download, with what its first lines say."""

    path: Path  # plain text on disk
    name: str  # the API file name, or `archive.zip:member.csv`
    report_type: str  # Fee-Earnings, Fee-Orders, ... or "" when nothing tells
    has_title: bool  # a title line, which gives the period (else the file name must)
    header: str  # the header line as read, for messages
    content_hash: str  # sha256 of the plain bytes
    title_dates: tuple[str, str] | None = None  # the title's start and end, as written


def unpack(download: Path, filename: str, folder: Path) -> list[UnpackedReport]:
    """Decompress `download` (gzip, zip or plain, told by magic bytes) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with download.open("rb") as probe:
        magic = probe.read(4)
    if magic.startswith(_GZIP_MAGIC):
        target = folder / _safe_name(_strip_suffix(filename, ".gz", ".gzip"))
        try:
            with gzip.open(download, "rb") as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
        except (OSError, EOFError) as exc:
            raise AmazonReportError(filename, None, f"damaged gzip data ({exc})") from None
        return [describe(target, filename)]
    if magic.startswith(_ZIP_MAGIC):
        return _unzip(download, filename, folder)
    target = folder / _safe_name(filename)
    if target != download:
        shutil.copyfile(download, target)
    return [describe(target, filename)]


def _unzip(download: Path, filename: str, folder: Path) -> list[UnpackedReport]:
    out: list[UnpackedReport] = []
    size = 0
    try:
        with zipfile.ZipFile(download) as archive:
            size = len(archive.infolist())
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir()
                and not info.filename.startswith("__MACOSX/")
                and not info.filename.rsplit("/", 1)[-1].startswith(".")
            ]
            for index, info in enumerate(members):
                # The member's own base name only: a path in the archive must not escape.
                base = _safe_name(info.filename.rsplit("/", 1)[-1])
                target = folder / f"{index:03d}" / base  # one folder a member: names may repeat
                target.parent.mkdir()
                with archive.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
                out.append(describe(target, f"{filename}:{info.filename}"))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise AmazonReportError(filename, None, f"damaged ZIP archive ({exc})") from None
    if not out:
        what = "an empty ZIP archive (no file in it)" if not size else "no report file in the ZIP"
        raise AmazonReportError(filename, None, what, "a ZIP holding the Fee-Earnings report")
    return out


def _strip_suffix(name: str, *suffixes: str) -> str:
    for suffix in suffixes:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _safe_name(name: str) -> str:
    base = re.sub(r"[^\w.\-]+", "_", name.rsplit("/", 1)[-1]).strip("._")
    return base or "report"


def describe(path: Path, name: str) -> UnpackedReport:
    """Read a plain report's first lines: its type (title, else header, else file name)."""
    with path.open("rb") as src:
        head = src.read(_HEAD_BYTES)
    text = _decode_head(head)
    lines = [line for line in text.splitlines() if line.strip().strip(',;\t"')]
    title_type: str | None = None
    dates: tuple[str, str] | None = None
    header = ""
    for line in lines[:2]:
        match = _TITLE.match(line.strip())
        if match and title_type is None:
            title_type = match["type"]
            dates = (match["start"], match["end"]) if match["end"] else None
            continue
        header = line
        break
    report_type = _type_from_title(title_type) if title_type else _type_from_header(header)
    if not report_type:
        report_type = _type_from_name(name)
    has_title = title_type is not None
    return UnpackedReport(
        path, name, report_type, has_title, header, digests.sha256_of(path), dates
    )


def _decode_head(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8-sig", errors="replace")


def _type_from_title(word: str) -> str:
    # `Fee-Earnings` is the type the ingest path loads; other titles keep their own word.
    if word.casefold() == EARNINGS_REPORT.casefold():
        return EARNINGS_REPORT
    return word


def _type_from_header(header: str) -> str:
    if not header:
        return ""
    delimiter = "\t" if "\t" in header else ("," if "," in header else ";")
    cells = next(csv.reader([header], delimiter=delimiter, skipinitialspace=True), [])
    try:
        resolve_header(cells, name="", line=0)
    except AmazonReportError:
        pass
    else:
        return EARNINGS_REPORT
    keys = {normalise_header(cell) for cell in cells}
    if keys & {"adfees", "earnings", "commissionipubblicitarie"} and (
        keys & {"dateshipped", "dataspedizione"}
    ):
        return EARNINGS_REPORT  # earnings-like, in columns the loader will name as unknown
    if "bounty" in " ".join(keys):
        return BOUNTY
    if keys & {"linktype", "tipodilink"} and "clicks" in keys:
        return LINK_TYPE
    if keys & {"linktype", "tipodilink"} and keys & {"qty", "quantity", "quantità"}:
        return ORDERS
    if "clicks" in keys and keys & {"date", "data"}:
        return DAILY_TRENDS
    if "clicks" in keys and keys & {"trackingid", "associateid"}:
        return TRACKING
    return ""


def _type_from_name(name: str) -> str:
    bare = re.sub(r"[^a-z]", "", name.casefold())
    for word, report_type in _NAME_TYPES:
        if word in bare:
            return report_type
    return ""


def period_from_name(name: str, marketplace: str | None = None) -> tuple[date, date] | None:
    """The period the dates in a file name give: two dates, one day, or a `YYYY-MM` month.

    Dates are `YYYYMMDD` or `YYYY-MM-DD`; with a marketplace, also its title order
    (`10-31-2026` in the US, `31-10-2026` in the UK).
    """
    days: list[tuple[int, date]] = []
    for match in _FULL_DATE.finditer(name):
        with contextlib.suppress(ValueError):
            days.append((match.start(), date(int(match[1]), int(match[2]), int(match[3]))))
    if marketplace is not None:
        market = get_marketplace(marketplace)
        for match in _STORE_DATE.finditer(name):
            with contextlib.suppress(AmazonReportError):
                day = parse_title_date(match[0], market, name=name, line=0)
                days.append((match.start(), day))
    days.sort()
    if len(days) >= 2:
        first, second = days[0][1], days[1][1]
        return min(first, second), max(first, second)
    if len(days) == 1:
        return days[0][1], days[0][1]
    for match in _MONTH.finditer(name):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    return None


def report_period(report: UnpackedReport, marketplace: str) -> tuple[date, date] | None:
    """The period a report covers: its title's dates (in the store's order), else its name's."""
    if report.title_dates is not None:
        market = get_marketplace(marketplace)
        try:
            start, end = (
                parse_title_date(token, market, name=report.name, line=1)
                for token in report.title_dates
            )
        except AmazonReportError:
            pass
        else:
            return (start, end) if start <= end else (end, start)
    return period_from_name(report.name, marketplace)
