"""Amazon Associates stores: currency, title date order and number style of each marketplace."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
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
