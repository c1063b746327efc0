"""Amazon Associates stores: currency, title date order and number style of each marketplace."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from .errors import AmazonReportError

DateOrder = Literal["MDY", "DMY", "YMD"]


@dataclass(frozen=True)
class Marketplace:
    """One Associates store. Currency comes from here, never from the file (section 1.4)."""

    code: str
    currency: str
    date_order: DateOrder  # order of the dates in the report's title line (section 1.2)
    decimal_comma: bool  # `1.234,56` numbers (section 1.4: IT, presumably DE/FR/ES)
    domain: str

    @property
    def date_pattern(self) -> str:
        """The title date layout in words, for error messages: `MM-DD-YYYY`."""
        return {"MDY": "MM-DD-YYYY", "DMY": "DD-MM-YYYY", "YMD": "YYYY-MM-DD"}[self.date_order]


class MarketplaceCode(StrEnum):
    """The stores' codes, as `--marketplace` takes them (case-insensitively); the keys of
    MARKETPLACES, in its order (a unit test holds the two equal)."""

    US = "US"
    CA = "CA"
    UK = "UK"
    DE = "DE"
    FR = "FR"
    IT = "IT"
    ES = "ES"
    JP = "JP"
    IN = "IN"


MARKETPLACES: dict[str, Marketplace] = {
    m.code: m
    for m in (
        Marketplace("US", "USD", "MDY", False, "amazon.com"),
        Marketplace("CA", "CAD", "MDY", False, "amazon.ca"),
        Marketplace("UK", "GBP", "DMY", False, "amazon.co.uk"),
        Marketplace("DE", "EUR", "DMY", True, "amazon.de"),
        Marketplace("FR", "EUR", "DMY", True, "amazon.fr"),
        Marketplace("IT", "EUR", "DMY", True, "amazon.it"),
        Marketplace("ES", "EUR", "DMY", True, "amazon.es"),
        Marketplace("JP", "JPY", "YMD", False, "amazon.co.jp"),
        Marketplace("IN", "INR", "DMY", False, "amazon.in"),
    )
}


def get_marketplace(code: str) -> Marketplace:
    """Look a store up by code (case-insensitive); an unknown code lists the known ones."""
    found = MARKETPLACES.get(code.strip().upper())
    if found is None:
        known = ", ".join(MARKETPLACES)
        raise ValueError(f"unknown Amazon marketplace {code!r}; expected one of {known}")
    return found


# --- numbers ------------------------------------------------------------------------------
# Amazon writes locale-formatted text (section 1.4): `1,234.56` in US/UK, `1.234,56` in IT.
# Normalising here keeps money out of float: the result is a plain `-1234.56` string that
# pydantic turns into a Decimal. Text that fits neither shape is returned unchanged so the
# schema rejects it with the original value in the reason.

_CURRENCY_MARKS = re.compile(r"US\$|CA\$|CDN\$|C\$|Rs\.?|INR|EUR|GBP|USD|CAD|JPY|[$€£¥₹￥]")
_SIGN_GAP = re.compile(r"^([+-])[\s\u00a0\u202f]+")
# IN may group in lakhs (`1,23,456.78`) [unverified for Amazon exports, cheap to accept].
_DOT_NUMBER = re.compile(
    r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3}|\d+)(?:\.\d+)?|[+-]?\.\d+"
)
# FR writes thousands with a (narrow) no-break space; DE/IT/ES with a dot.
_COMMA_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:[.'\u00a0\u202f ]\d{3})+|\d+)(?:,\d+)?")
_DOT_CHARS = "0123456789.-+"
_COMMA_CHARS = "0123456789,-+"
_COMMA_TABLE = str.maketrans(
    {".": None, "'": None, "\u00a0": None, "\u202f": None, " ": None, ",": "."}
)


def _strip_marks(text: str) -> str:
    # `-$3.10`, `$ -3.10` and `- 3,10 €` all become `-3.10`/`-3,10`; inner spaces are kept
    # so that only real thousands groups are removed.
    return _SIGN_GAP.sub(r"\1", _CURRENCY_MARKS.sub("", text).strip(" \t\u00a0\u202f"))


def normalise_dot_number(text: str) -> str:
    """`$1,234.56` -> `1234.56`; unparseable text comes back unchanged."""
    if text and not text.strip(_DOT_CHARS):
        return text  # hot path: already plain
    bare = _strip_marks(text)
    if _DOT_NUMBER.fullmatch(bare):
        return bare.replace(",", "")
    return text


def normalise_comma_number(text: str) -> str:
    """`1.234,56 €` -> `1234.56`; unparseable text comes back unchanged.

    A value with a dot but no comma that is not dot-grouped thousands (`16.39`) is left as
    it is: the IT parser of section 1.4 meets both styles, and `16.39` can only be a decimal.
    """
    if text and not text.strip(_COMMA_CHARS) and text.count(",") <= 1:
        return text.replace(",", ".") if "," in text else text  # hot path: `16,39`, `-3`
    bare = _strip_marks(text)
    if _COMMA_NUMBER.fullmatch(bare):
        return bare.translate(_COMMA_TABLE)
    if bare and not bare.strip(_DOT_CHARS):
        return bare
    return text


def number_normaliser(marketplace: Marketplace) -> Callable[[str], str]:
    """The normaliser for a store's decimal style."""
    return normalise_comma_number if marketplace.decimal_comma else normalise_dot_number


# --- title dates --------------------------------------------------------------------------

_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_THREE_PARTS = re.compile(r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})")


def parse_title_date(token: str, marketplace: Marketplace, *, name: str, line: int) -> date:
    """Read a title date in the store's order; `YYYY-MM-DD` is accepted for every store."""
    try:
        iso = _ISO_DATE.fullmatch(token)
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        parts = _THREE_PARTS.fullmatch(token)
        if parts and marketplace.date_order != "YMD":
            first, second, year = int(parts[1]), int(parts[2]), int(parts[3])
            if len(parts[3]) == 4:
                if marketplace.date_order == "MDY":
                    return date(year, first, second)
                return date(year, second, first)
    except ValueError:
        pass
    raise AmazonReportError(
        name,
        line,
        f"title date {token!r} is not a valid date for marketplace {marketplace.code}",
        f"{marketplace.date_pattern} or YYYY-MM-DD",
    )


# --- ship dates ---------------------------------------------------------------------------
# Section 1.4: current exports write `YYYY-MM-DD` (IT adds ` 00:00:00`); pre-2016 and feed
# reports wrote `September 25, 2012` (a JP script converts `Mon d, yyyy`). No time zone is
# stated, so the date is the store's date and the time part is dropped.

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_LEGACY_DATE = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})")


def normalise_shipped_date(text: str) -> str:
    """`2024-12-18 00:00:00` or `September 25, 2012` -> ISO `YYYY-MM-DD`; else just stripped."""
    bare = text.strip()
    if len(bare) > 10 and bare[4] == "-" and bare[10] in " T":
        return bare[:10]
    legacy = _LEGACY_DATE.fullmatch(bare)
    if legacy and legacy[1].casefold() in _MONTHS:
        month = _MONTHS[legacy[1].casefold()]
        return f"{legacy[3]}-{month:02d}-{int(legacy[2]):02d}"
    return bare


# --- which store a report comes from --------------------------------------------------------
# A report does not name its store, and US and CA reports share the title's date order, the
# header and `$` (issue 10: a US report ingested as CA loaded as CAD). What does tell stores
# apart is read here, each as the set of stores it fits: a header's currency suffix, a
# currency mark or decimal style in a money cell, the tracking id's store suffix (Amazon tags
# end in -20 for US/CA stores, -21 for the European stores and IN, -22 for JP), and the Seller
# `Amazon.<domain>` of the store's own sales.

_ALL = frozenset(MARKETPLACES)
_EURO = frozenset({"DE", "FR", "IT", "ES"})
_DOLLAR = frozenset({"US", "CA"})
_MARK_STORES: tuple[tuple[re.Pattern[str], frozenset[str], str], ...] = (
    (re.compile(r"C\$|CA\$|CDN\$|\bCAD\b"), frozenset({"CA"}), "Canadian dollars"),
    (re.compile(r"US\$|\bUSD\b"), frozenset({"US"}), "US dollars"),
    (re.compile(r"(?<![A-Z])\$"), _DOLLAR, "dollars"),
    (re.compile(r"€|\bEUR\b"), _EURO, "euros"),
    (re.compile(r"£|\bGBP\b"), frozenset({"UK"}), "pounds"),
    (re.compile(r"[¥￥]|\bJPY\b"), frozenset({"JP"}), "yen"),
    (re.compile(r"₹|\bRs\.?|\bINR\b"), frozenset({"IN"}), "rupees"),
)
_HEADER_SUFFIX = re.compile(r"\(\s*([^()]+?)\s*\)\s*$")
# `29,90` or `1.234,56`: a decimal comma (a dot store would reject it); `1,234.56`: a dot.
_COMMA_DECIMAL = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+),\d{1,2}")
_GROUPED_DOT = re.compile(r"-?\d{1,3}(?:,\d{3})+\.\d+")
_TAG_SUFFIX = re.compile(r"-(2[0-2])$")
_TAG_STORES = {
    "20": _DOLLAR,
    "21": frozenset({"UK", "DE", "FR", "IT", "ES", "IN"}),
    "22": frozenset({"JP"}),
}
_SELLER = re.compile(r"amazon\.(com|ca|co\.uk|de|fr|it|es|co\.jp|in)", re.IGNORECASE)
_DOMAIN_STORE = {m.domain: m.code for m in MARKETPLACES.values()}


@dataclass(frozen=True)
class Evidence:
    """Something in a report that only some stores write: which, and where it was seen."""

    stores: frozenset[str]
    what: str  # "header 'Price(C$)'", "Seller 'Amazon.com' (line 3)"


def store_evidence(
    header: dict[str, str], rows: list[tuple[int, dict[str, str]]]
) -> list[Evidence]:
    """What in a header (canonical key -> cell as written) and some data rows (line number,
    canonical key -> raw cell) tells which stores the report may come from (one of each kind)."""
    found: dict[str, Evidence] = {}
    for key in ("price", "revenue", "ad_fees"):
        suffix = _HEADER_SUFFIX.search(header.get(key, ""))
        if suffix:
            for pattern, stores, _ in _MARK_STORES:
                if pattern.search(suffix[1]):
                    found.setdefault("header", Evidence(stores, f"header {header[key]!r}"))
                    break
    for line, cells in rows:
        for key in ("price", "revenue", "ad_fees"):
            value = cells.get(key, "").strip()
            for pattern, stores, words in _MARK_STORES:
                if pattern.search(value):
                    found.setdefault("mark", Evidence(stores, f"{words} {value!r} (line {line})"))
                    break
            if _COMMA_DECIMAL.fullmatch(value.lstrip("$€£¥ ")):
                what = f"decimal comma in {value!r} (line {line})"
                found.setdefault("decimal", Evidence(_EURO, what))
            elif _GROUPED_DOT.fullmatch(value.lstrip("$€£¥ ")):
                what = f"decimal point in {value!r} (line {line})"
                found.setdefault("decimal", Evidence(_ALL - _EURO, what))
        tag = _TAG_SUFFIX.search(cells.get("tracking_id", "").strip())
        if tag:
            what = f"tracking id {cells['tracking_id'].strip()!r} (line {line})"
            found.setdefault("tag", Evidence(_TAG_STORES[tag[1]], what))
        seller = _SELLER.fullmatch(cells.get("seller", "").strip())
        if seller:
            store = _DOMAIN_STORE[f"amazon.{seller[1].lower()}"]
            what = f"Seller {cells['seller'].strip()!r} (line {line})"
            found.setdefault("seller", Evidence(frozenset({store}), what))
    return list(found.values())


def check_store(marketplace: Marketplace, evidence: list[Evidence], *, name: str) -> str | None:
    """Raise AmazonReportError when the evidence says another store; return a warning when
    nothing tells the report from another store's of a different currency, else None."""
    against = [e for e in evidence if marketplace.code not in e.stores]
    if against:
        stores = frozenset.intersection(*(e.stores for e in against))
        guess = " or ".join(sorted(stores)) if stores else "another store"
        raise AmazonReportError(
            name,
            None,
            f"this looks like a report of the {guess} store, not {marketplace.code}"
            f" ({marketplace.currency}): " + "; ".join(e.what for e in against),
            f"--marketplace {sorted(stores)[0] if stores else '...'} if it is, or a report"
            f" downloaded from {marketplace.domain}",
        )
    possible = frozenset.intersection(_ALL, *(e.stores for e in evidence))
    others = sorted(
        code for code in possible if MARKETPLACES[code].currency != marketplace.currency
    )
    if not others:
        return None
    seen = "; ".join(e.what for e in evidence) or "no currency, tracking id or seller hint"
    return (
        f"nothing in the report tells a {marketplace.code} report from a"
        f" {'/'.join(others)} one ({seen}): its amounts are taken as {marketplace.currency}"
        " because of --marketplace"
    )
