"""The earnings-report header alias table and the check that maps a header to canonical keys."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .errors import AmazonReportError

# Canonical column -> every header spelling seen for it. Headers are localized per store and
# carry the currency in a suffix (affiliate-formats.md section 1.3), so matching ignores case,
# spaces, `_` and a `($)`/`(€)`/`(£)`/`(Rs.)`/`(¥)` suffix. To support a new store's
# language (DE, FR, ES, JP: not seen publicly yet), add its spellings to these tuples.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "category": ("Category", "Categoria"),
    "name": ("Name", "Prodotto"),
    "asin": ("ASIN",),
    "seller": ("Seller", "Venditore"),
    "tracking_id": ("Tracking ID", "TrackingID"),
    "date_shipped": ("Date Shipped", "Data Spedizione"),
    "price": ("Price", "Prezzo"),
    "items_shipped": ("Items Shipped", "Prodotti spediti"),
    "returns": ("Returns", "Resi"),
    "revenue": ("Revenue", "Ricavi"),
    "ad_fees": ("Ad Fees", "Commissioni pubblicitarie"),
    "device_type_group": ("Device Type Group", "Tipo di dispositivo"),
    "direct": ("Direct", "Acquisto idoneo diretto"),
}

CANONICAL_COLUMNS: tuple[str, ...] = tuple(HEADER_ALIASES)
OPTIONAL_COLUMNS: frozenset[str] = frozenset({"seller", "device_type_group", "direct"})
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in CANONICAL_COLUMNS if c not in OPTIONAL_COLUMNS)
NUMERIC_COLUMNS: frozenset[str] = frozenset(
    {"price", "items_shipped", "returns", "revenue", "ad_fees"}
)

_CURRENCY_SUFFIX = re.compile(r"\(\s*(?:\$|€|£|¥|￥|₹|rs\.?|[a-z]{3})\s*\)$")
_IGNORED = re.compile(r"[\s_\u00a0\u202f]+")


def normalise_header(cell: str) -> str:
    """`Price ($)` -> `price`, `Tracking ID` -> `trackingid`: the key aliases are matched on."""
    text = unicodedata.normalize("NFC", cell).strip().strip('"').casefold()
    text = _IGNORED.sub("", text)
    return _CURRENCY_SUFFIX.sub("", text)


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for canonical, spellings in HEADER_ALIASES.items():
        for spelling in (canonical, *spellings):
            key = normalise_header(spelling)
            if lookup.setdefault(key, canonical) != canonical:
                raise ValueError(f"header spelling {spelling!r} claimed by two columns")
    return lookup


_LOOKUP = _build_lookup()


@dataclass(frozen=True)
class HeaderMap:
    """Which cell of each data row holds which canonical column."""

    columns: tuple[str, ...]  # canonical keys in file order
    positions: tuple[int, ...]  # cell index of each of `columns`


def resolve_header(cells: list[str], *, name: str, line: int) -> HeaderMap:
    """Map header cells to canonical keys; unknown, duplicate or missing columns are an error."""
    columns: list[str] = []
    positions: list[int] = []
    unexpected: list[str] = []
    repeated: list[str] = []
    for index, cell in enumerate(cells):
        key = normalise_header(cell)
        if not key:
            continue  # a trailing delimiter leaves an empty header cell
        canonical = _LOOKUP.get(key)
        if canonical is None:
            unexpected.append(cell.strip())
        elif canonical in columns:
            repeated.append(cell.strip())
        else:
            columns.append(canonical)
            positions.append(index)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing or unexpected or repeated:
        problems = []
        if missing:
            names = (f"{HEADER_ALIASES[c][0]} ({c})" for c in missing)
            problems.append(f"missing columns {', '.join(names)}")
        if unexpected:
            problems.append(f"unexpected columns {', '.join(map(repr, unexpected))}")
        if repeated:
            problems.append(f"repeated columns {', '.join(map(repr, repeated))}")
        raise AmazonReportError(
            name,
            line,
            "not a Fee-Earnings header: " + "; ".join(problems),
            "the columns "
            + ", ".join(HEADER_ALIASES[c][0] for c in CANONICAL_COLUMNS)
            + " (Seller, Device Type Group and Direct optional; localized names are listed in"
            " connectors/amazon/columns.py HEADER_ALIASES)",
        )
    return HeaderMap(tuple(columns), tuple(positions))
