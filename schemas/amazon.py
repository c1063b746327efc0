"""Amazon Fee-Earnings rows: the raw-row model and its mapping to canonical ledger lines."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from schemas.commission import CommissionLine
from schemas.validation import BatchValidator, Reject, ValidatedBatch, map_valid

if TYPE_CHECKING:
    from connectors.amazon import RawLine, ReportFile

NETWORK = "amazon"
LINE_ID_FIELDS: tuple[str, ...] = (
    "category",
    "name",
    "asin",
    "seller",
    "tracking_id",
    "date_shipped",
    "price",
    "items_shipped",
    "returns",
    "revenue",
    "ad_fees",
    "device_type_group",
    "direct",
)
_SEPARATOR = "\x1f"  # ASCII unit separator: csv cells cannot carry it as meaningful text
_MONEY_LIMIT = Decimal("1e14")  # DECIMAL(18,4) holds 14 integer digits

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


def parse_shipped_date(value: object) -> object:
    """`2024-12-18`, `2024-12-18 00:00:00` or legacy `September 25, 2012` -> date.

    Section 1.4: current exports write ISO dates (IT with a midnight time); pre-2016 and feed
    reports wrote English month names. No time zone is stated: the date is the store's date.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if len(text) >= 10 and text[4] == "-" and (len(text) == 10 or text[10] in " T"):
        return date.fromisoformat(text[:10])  # ValueError becomes a pydantic reason
    month_day, _, year = text.partition(",")
    month, _, day = month_day.strip().partition(" ")
    number = _MONTHS.get(month.rstrip(".").casefold())
    if number is None or not year.strip().isdigit() or not day.strip().isdigit():
        raise ValueError("expected YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or 'September 25, 2012'")
    return date(int(year), number, int(day))


def _bounded_money(value: Decimal) -> Decimal:
    # Checked before CommissionLine quantizes: Decimal.quantize raises InvalidOperation (not
    # a ValueError) for huge values, which would escape the validation boundary.
    if abs(value) >= _MONEY_LIMIT:
        raise ValueError("amount does not fit DECIMAL(18,4)")
    return value


RawMoney = Annotated[Decimal, Field(allow_inf_nan=False), AfterValidator(_bounded_money)]
ShippedDate = Annotated[date, BeforeValidator(parse_shipped_date)]


class AmazonEarningsRow(BaseModel):
    """One Fee-Earnings data row as read (strings in, typed values out; money as Decimal)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str
    name: str
    asin: str = Field(min_length=1)
    seller: str | None = None
    tracking_id: str = Field(min_length=1)
    date_shipped: ShippedDate
    price: RawMoney
    items_shipped: int
    returns: int
    revenue: RawMoney
    ad_fees: RawMoney
    device_type_group: str | None = None
    direct: str | None = None


def earnings_line_id(row: AmazonEarningsRow) -> str:
    """A content key for the row: identical rows share it (the warehouse numbers repeats).

    Earnings rows carry no order or transaction id and identical rows repeat (section 1.5),
    so the key is a digest of every field, normalised so number spelling does not matter.
    """
    parts = []
    for field_name in LINE_ID_FIELDS:
        value = getattr(row, field_name)
        if value is None:
            parts.append("")
        elif isinstance(value, Decimal):
            parts.append(format(value.normalize(), "f"))
        else:
            parts.append(str(value))
    text = _SEPARATOR.join(parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def to_commission_line(
    row: AmazonEarningsRow, report: ReportFile, *, account: str
) -> CommissionLine:
    """Map a valid row to the ledger; a ship date outside the report's period is an error."""
    if not report.period_start <= row.date_shipped <= report.period_end:
        raise ValueError(
            f"date_shipped: {row.date_shipped} is outside the report period"
            f" {report.period_start} to {report.period_end}"
        )
    return CommissionLine(
        network=NETWORK,
        account=account,
        line_id=earnings_line_id(row),
        event_date=row.date_shipped,
        event_at=None,
        # Amazon has no status field: a shipped item is earned (affiliate-formats.md section 6).
        status="approved",
        sale_amount=row.revenue,
        commission_amount=row.ad_fees,
        currency=report.currency,
        quantity=row.items_shipped - row.returns,
        program=row.category or None,
        product_id=row.asin,
        product_name=row.name or None,
        tracking_id=row.tracking_id,
    )


_VALIDATOR = BatchValidator(AmazonEarningsRow)


def validate_earnings_batch(
    batch: list[RawLine], report: ReportFile, *, account: str
) -> ValidatedBatch:
    """Validate a batch of raw rows: ledger lines for the good ones, located rejects for the rest.

    Identical rows are all kept (two identical lines are two sales); returns stay as their own
    negative rows.
    """
    good, bad = _VALIDATOR.validate([line.fields for line in batch])
    mapped, unmappable = map_valid(
        good, lambda row: to_commission_line(row, report, account=account)
    )
    bad.update(unmappable)
    result = ValidatedBatch(records_read=len(batch))
    for index, line in mapped:
        result.lines.append(line)
        result.source_lines.append(batch[index].line_no)
    for index in sorted(bad):
        raw = batch[index]
        result.rejects.append(Reject(f"{report.name}:{raw.line_no}", raw.raw, bad[index]))
    return result
