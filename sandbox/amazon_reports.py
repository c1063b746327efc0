"""Seeded generator of realistic Amazon Fee-Earnings report files, streamed row by row to disk."""

from __future__ import annotations

import csv
import random
import shutil
import string
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

from connectors.amazon import MARKETPLACES, Marketplace

# Header spellings as seen in public importers (affiliate-formats.md section 1.3). Stores
# whose localized headers were never seen publicly get the English layout with their
# currency suffix, which the reader accepts for any store.
_HEADERS: dict[str, tuple[str, ...]] = {
    "US": (
        "Category", "Name", "ASIN", "Seller", "Tracking ID", "Date Shipped", "Price($)",
        "Items Shipped", "Returns", "Revenue($)", "Ad Fees($)", "Device Type Group",
    ),
    "UK": (
        "Category", " Name", " ASIN", " Seller", " Tracking ID", " Date Shipped", " Price",
        " Items Shipped", " Returns", " Revenue", " Ad Fees", " Device Type Group", " Direct",
    ),
    "IT": (
        "Categoria", "Prodotto", "ASIN", "Venditore", "TrackingID", "Data Spedizione",
        "Prezzo (€)", "Prodotti spediti", "Resi", "Ricavi (€)", "Commissioni pubblicitarie (€)",
        "Tipo di dispositivo", "Acquisto idoneo diretto",
    ),
}  # fmt: skip
_SUFFIX = {"DE": "€", "FR": "€", "ES": "€", "JP": "¥", "IN": "Rs."}
_TAG_SUFFIX = {"US": "-20", "CA": "0c-20", "JP": "-22"}
_MINOR_DIGITS = {"JPY": 0}
_DEVICES = ("DESKTOP", "PHONE", "PHONE", "TABLET", "OTHER")

# Names are free text with commas, quotes and non-ASCII letters (section 1.2 fixtures list).
_PRODUCTS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("Electronics", "USB-C Cable, 2-Pack"),
        ("Kitchen", 'Lodge 12" Cast Iron Skillet'),
        ("Kitchen", "Crème Brûlée Torch, Refillable"),
        ("Books", '"The Martian": A Novel'),
        ("Books", "Cien años de soledad"),
        ("Electronics", "Kindle Paperwhite — 16 GB"),
        ("Toys", "Wooden Train Set"),
        ("Video Games", "Nintendo Switch™ Pro Controller"),
        ("Grocery", "日本茶 Sencha, 100 g"),
        ("Home", 'Throw Pillow "Cozy", 18"x18"'),
        ("Sports", "Yoga Mat (6 mm)"),
        ("Beauty", "Ñandú Shea Butter, 200 ml"),
    ),
    "uk": (
        ("Home & Garden", "Dyson V8, Cordless"),
        ("Grocery", "Yorkshire Tea, 240 Bags"),
        ("Books", 'Brontë: "Jane Eyre"'),
        ("Kitchen", "Le Creuset Casserole, 24 cm"),
        ("Electronics", "Echo Dot (5th Gen) — Charcoal"),
        ("Toys", "LEGO® Classic Bricks"),
        ("Garden", "Hozelock Hose, 25 m"),
        ("Beauty", 'Nivea "Soft" Crème, 200 ml'),
    ),
    "it": (
        ("Casa e cucina", "Moka Bialetti, 6 tazze"),
        ("Elettronica", 'Televisore 55" 4K Ultra HD'),
        ("Libri", "Però è così: perché sì"),
        ("Alimentari", 'Caffè Borbone "Oro", 100 cialde'),
        ("Giochi", "Città dei mattoncini, 500 pezzi"),
        ("Sport", "Borraccia termica, 750 ml"),
        ("Bellezza", "Crema viso all'aloe, 50 ml"),
        ("Libri", "L'amica geniale"),
    ),
}
_VARIANTS = ("", " (Black)", " (Blue)", " – Größe M", " (Pack of 3)")
_RATES = (Decimal("0.01"), Decimal("0.03"), Decimal("0.04"), Decimal("0.045"), Decimal("0.07"))


@dataclass
class MonthTotals:
    """Exact totals of the lines written for one calendar month (or one tracking id)."""

    sales: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    lines: int = 0
    quantity: int = 0


@dataclass
class ReportTotals:
    """What a generated report adds up to, computed while writing it, in its store currency."""

    marketplace: str
    currency: str
    period_start: date
    period_end: date
    months: dict[date, MonthTotals] = field(default_factory=dict)  # key: first day of month
    by_tracking_id: dict[str, MonthTotals] = field(default_factory=dict)
    returns: int = 0  # return lines written, repeated ones included
    duplicates: int = 0

    @property
    def sales(self) -> Decimal:
        """Sum of Revenue over every line (returns are negative)."""
        return sum((m.sales for m in self.months.values()), Decimal(0))

    @property
    def commission(self) -> Decimal:
        """Sum of Ad Fees over every line (returns are negative)."""
        return sum((m.commission for m in self.months.values()), Decimal(0))

    @property
    def lines(self) -> int:
        """Number of data lines written (duplicates and returns included)."""
        return sum(m.lines for m in self.months.values())


@dataclass(frozen=True)
class _Product:
    category: str
    name: str
    asin: str
    seller: str
    price_minor: int
    rate: Decimal


class _Accumulator:
    """Integer minor units per month and tracking id: exact and cheap per row."""

    def __init__(self) -> None:
        self.months: dict[tuple[int, int], list[int]] = {}
        self.tags: dict[str, list[int]] = {}

    def add(self, day: date, tag: str, sales: int, fees: int, quantity: int) -> None:
        for bucket in (
            self.months.setdefault((day.year, day.month), [0, 0, 0, 0]),
            self.tags.setdefault(tag, [0, 0, 0, 0]),
        ):
            bucket[0] += sales
            bucket[1] += fees
            bucket[2] += 1
            bucket[3] += quantity

    @staticmethod
    def to_totals(bucket: list[int], digits: int) -> MonthTotals:
        return MonthTotals(
            sales=Decimal(bucket[0]).scaleb(-digits),
            commission=Decimal(bucket[1]).scaleb(-digits),
            lines=bucket[2],
            quantity=bucket[3],
        )


def format_amount(minor: int, marketplace: Marketplace, *, grouped: bool = True) -> str:
    """Write an amount in minor units the way the store's report does: `1.234,56` in IT."""
    digits = _MINOR_DIGITS.get(marketplace.currency, 2)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    thousands, decimal_mark = (".", ",") if marketplace.decimal_comma else (",", ".")
    whole_text = f"{whole:,}".replace(",", thousands) if grouped else str(whole)
    return sign + whole_text + (f"{decimal_mark}{frac:0{digits}d}" if digits else "")


def format_title_date(day: date, marketplace: Marketplace) -> str:
    """A title date in the store's order (section 1.2): `12-31-2020` US, `31-12-2020` UK/IT."""
    if marketplace.date_order == "MDY":
        return f"{day.month:02d}-{day.day:02d}-{day.year:04d}"
    if marketplace.date_order == "DMY":
        return f"{day.day:02d}-{day.month:02d}-{day.year:04d}"
    return day.isoformat()


def _layout(code: str) -> tuple[tuple[str, ...], str, bool]:
    """Header, product-name pool and whether the date carries IT's midnight time."""
    if code in ("US", "CA"):
        return _HEADERS["US"], "en", False
    if code == "UK":
        return _HEADERS["UK"], "uk", False
    if code == "IT":
        return _HEADERS["IT"], "it", True
    suffix = f"({_SUFFIX[code]})"
    english = tuple(h.strip() for h in _HEADERS["UK"])
    money = {"Price", "Revenue", "Ad Fees"}
    return tuple(f"{h}{suffix}" if h in money else h for h in english), "en", False


def _catalogue(marketplace: Marketplace, pool: str) -> list[_Product]:
    # Seeded by the store only, so every report of a store sells the same products: a return
    # in one month's report then matches a shipment in an earlier one (section 1.5).
    rng = random.Random(f"catalogue-{marketplace.code}")
    digits = _MINOR_DIGITS.get(marketplace.currency, 2)
    scale = 100 if digits == 0 else 1  # yen prices are whole and about 100x larger
    products = []
    for variant in _VARIANTS:
        for category, name in _PRODUCTS[pool]:
            if category in ("Books", "Libri") and rng.random() < 0.5:
                asin = "".join(rng.choices(string.digits, k=9)) + rng.choice("0123456789X")
            else:
                asin = "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
            seller = (
                f"Amazon.{marketplace.domain.split('amazon.', 1)[1]}"
                if rng.random() < 0.7
                else rng.choice(("ToyShop LLC", "Müller & Söhne GmbH", 'Bob\'s "Best" Deals'))
            )
            base = rng.choice((499, 999, 1299, 1999, 2990, 4999, 8999, 12999, 24999, 123456))
            products.append(
                _Product(category, name + variant, asin, seller, base * scale, rng.choice(_RATES))
            )
    return products


def _fee(minor: int, rate: Decimal) -> int:
    return int((Decimal(minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def write_earnings_report(
    path: Path,
    *,
    marketplace: str,
    period_start: date,
    period_end: date,
    lines: int,
    seed: int,
    tracking_ids: Sequence[str] = (),
    returns_ratio: float = 0.03,
    duplicate_ratio: float = 0.01,
    fmt: Literal["csv", "tsv"] = "csv",
    bom: bool = False,
    title: bool = True,
    crlf: bool = False,
    late_lines: int = 0,
) -> ReportTotals:
    """Write a localized Fee-Earnings report of `lines` data lines and return its exact totals.

    Rows are written as they are made, so memory does not grow with `lines`. Dates run from
    `period_start` to `period_end` in order; returns are their own rows with Items Shipped 0,
    Returns 1 and negative Revenue and Ad Fees; a duplicate repeats the previous line exactly.
    `late_lines` adds that many extra lines (a third of them returns) from a second random
    stream without changing the others: the same period downloaded again later, after Amazon
    restated it (affiliate-formats.md section 6).
    """
    market = MARKETPLACES[marketplace]
    if period_end < period_start:
        raise ValueError("period_end is before period_start")
    header, pool, midnight = _layout(market.code)
    products = _catalogue(market, pool)
    tags = list(tracking_ids) or [
        f"passive{kind}{_TAG_SUFFIX.get(market.code, '-21')}" for kind in ("blog", "news", "video")
    ]
    digits = _MINOR_DIGITS.get(market.currency, 2)
    with_direct = len(header) == 13
    rng = random.Random(seed)
    late_rng = random.Random(f"{seed}-late")
    total_lines = lines + late_lines
    late_at = set(late_rng.sample(range(total_lines), late_lines)) if late_lines else set()
    days = (period_end - period_start).days + 1
    acc = _Accumulator()
    totals = ReportTotals(market.code, market.currency, period_start, period_end)
    newline = "\r\n" if crlf else "\n"
    encoding = "utf-8-sig" if bom else "utf-8"
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter="\t" if fmt == "tsv" else ",", lineterminator=newline)
        if title:
            out.write(
                f"Fee-Earnings reports from {format_title_date(period_start, market)}"
                f" to {format_title_date(period_end, market)}{newline}"
            )
        writer.writerow([h.strip() for h in header] if fmt == "tsv" else header)
        previous: tuple[list[str], date, str, int, int, int, bool] | None = None
        base_index = 0
        for position in range(total_lines):
            late = position in late_at
            source = late_rng if late else rng
            day = period_start + timedelta(days=min(base_index * days // max(lines, 1), days - 1))
            if not late and previous is not None and source.random() < duplicate_ratio:
                row, day, tag, sales, fees, quantity, is_return = previous
                totals.duplicates += 1
            else:
                product = source.choice(products)
                tag = source.choice(tags)
                is_return = source.random() < (1 / 3 if late else returns_ratio)
                quantity = -1 if is_return else source.choice((1, 1, 1, 1, 2, 3))
                sales = product.price_minor * quantity
                fees = _fee(sales, product.rate) if sales >= 0 else -_fee(-sales, product.rate)
                shipped = day.isoformat() + (" 00:00:00" if midnight else "")
                row = [
                    product.category,
                    product.name,
                    product.asin,
                    product.seller,
                    tag,
                    shipped,
                    format_amount(product.price_minor, market, grouped=market.decimal_comma),
                    "0" if is_return else str(quantity),
                    "1" if is_return else "0",
                    format_amount(sales, market, grouped=market.decimal_comma),
                    format_amount(fees, market, grouped=market.decimal_comma),
                    source.choice(_DEVICES),
                ]
                if with_direct:
                    row.append(source.choice("YN"))
            writer.writerow(row)
            totals.returns += is_return
            acc.add(day, tag, sales, fees, quantity)
            if not late:
                previous = (row, day, tag, sales, fees, quantity, is_return)
                base_index += 1
    totals.months = {
        date(year, month, 1): acc.to_totals(bucket, digits)
        for (year, month), bucket in sorted(acc.months.items())
    }
    totals.by_tracking_id = {tag: acc.to_totals(b, digits) for tag, b in sorted(acc.tags.items())}
    return totals


_ZIP_TIME = (2026, 1, 2, 3, 4, 6)  # fixed member timestamp: the same inputs give the same bytes


def zip_report(path: Path, *, archive: Path | None = None, extra: Sequence[Path] = ()) -> Path:
    """Put a report (and any `extra` ones) into a ZIP as Associates Central downloads do.

    The archive defaults to `path` with a `.zip` suffix; members keep their file names and
    are copied in chunks, never read whole.
    """
    target = archive or path.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member in (path, *extra):
            info = zipfile.ZipInfo(member.name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with member.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return target


@dataclass(frozen=True)
class DemoReport:
    """One file of the demo set and how to ingest it."""

    path: Path
    marketplace: str
    account: str
    period_start: date
    period_end: date
    restatement: bool  # a later download of a period already in the set: it replaces it
    totals: ReportTotals


_Plan = tuple[Literal["csv", "tsv"], bool, bool, bool]
_DEMO_MONTHS = ((date(2025, 10, 1), date(2025, 10, 31)),
                (date(2025, 11, 1), date(2025, 11, 30)),
                (date(2025, 12, 1), date(2025, 12, 31)))  # fmt: skip


def write_demo_reports(folder: Path) -> list[DemoReport]:
    """Write the demo set: US, UK and IT stores, three months each, one month restated.

    Variety on purpose: a zipped report, a tab-separated one, a BOM, CRLF line ends, IT's
    localized header with comma decimals, returns in later months than their shipments.
    The restated US December has the first download's lines plus late lines and returns.
    """
    folder.mkdir(parents=True, exist_ok=True)
    reports: list[DemoReport] = []
    # store -> per month: (file format, BOM, CRLF, zip it)
    plans: dict[str, tuple[_Plan, ...]] = {
        "US": (
            ("csv", False, False, False),
            ("csv", False, True, True),
            ("csv", True, False, False),
        ),
        "UK": (
            ("tsv", False, True, False),
            ("csv", True, False, False),
            ("csv", False, False, True),
        ),
        "IT": (
            ("csv", True, False, False),
            ("csv", False, True, False),
            ("csv", True, False, True),
        ),
    }
    for store_index, (code, plan) in enumerate(plans.items()):
        account = f"demo-{code.lower()}"
        for month_index, ((start, end), (fmt, bom, crlf, zipped)) in enumerate(
            zip(_DEMO_MONTHS, plan, strict=True)
        ):
            seed = 1000 + 10 * store_index + month_index
            lines = 220 + 40 * month_index
            stem = f"Fee-Earnings-{code}-{start:%Y-%m}"
            path = folder / f"{stem}.{fmt}"
            totals = write_earnings_report(
                path, marketplace=code, period_start=start, period_end=end, lines=lines,
                seed=seed, returns_ratio=0.04, duplicate_ratio=0.02, fmt=fmt, bom=bom, crlf=crlf,
            )  # fmt: skip
            if zipped:
                zipped_path = zip_report(path)
                path.unlink()
                path = zipped_path
            reports.append(DemoReport(path, code, account, start, end, False, totals))
            if code == "US" and month_index == len(_DEMO_MONTHS) - 1:
                again = folder / f"{stem}-downloaded-again.{fmt}"
                totals = write_earnings_report(
                    again, marketplace=code, period_start=start, period_end=end, lines=lines,
                    seed=seed, returns_ratio=0.04, duplicate_ratio=0.02, fmt=fmt, bom=bom,
                    crlf=crlf, late_lines=15,
                )  # fmt: skip
                reports.append(DemoReport(again, code, account, start, end, True, totals))
    return reports
