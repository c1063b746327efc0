"""Amazon Fee-Earnings rows: the raw-row model and its mapping to canonical ledger lines."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

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

# Bounded before CommissionLine quantizes: Decimal.quantize raises InvalidOperation (not a
# ValueError) for huge values, which would escape the validation boundary.
RawMoney = Annotated[Decimal, Field(allow_inf_nan=False, gt=-_MONEY_LIMIT, lt=_MONEY_LIMIT)]


class AmazonEarningsRow(BaseModel):
    """One Fee-Earnings data row as read (strings in, typed values out; money as Decimal)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str
    name: str
    asin: str = Field(min_length=1)
    seller: str | None = None
    tracking_id: str = Field(min_length=1)
    date_shipped: date  # the reader already cut `YYYY-MM-DD HH:MM:SS` and legacy dates to ISO
    price: RawMoney
    items_shipped: int
    returns: int
    revenue: RawMoney
    ad_fees: RawMoney
    device_type_group: str | None = None
    direct: str | None = None


_LINE_ID_VALUES = attrgetter(*LINE_ID_FIELDS)


def earnings_line_id(row: AmazonEarningsRow) -> str:
    """A content key for the row: identical rows share it (the warehouse numbers repeats).

    Earnings rows carry no order or transaction id and identical rows repeat (section 1.5),
    so the key is a digest of every field after locale normalisation and typing (so `1.234,56`
    and `1234.56`, or a CSV and a TSV copy of a line, give the same key).
    """
    values = _LINE_ID_VALUES(row)
    text = _SEPARATOR.join(["" if value is None else str(value) for value in values])
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
# Raw models are only needed until mapped: validating in slices keeps at most this many alive
# beside the batch's RawLines and CommissionLines (memory must not grow with batch size).
_SLICE = 5_000


def validate_earnings_batch(
    batch: list[RawLine], report: ReportFile, *, account: str
) -> ValidatedBatch:
    """Validate a batch of raw rows: ledger lines for the good ones, located rejects for the rest.

    Identical rows are all kept (two identical lines are two sales); returns stay as their own
    negative rows.
    """
    mapper = partial(to_commission_line, report=report, account=account)
    result = ValidatedBatch(records_read=len(batch))
    for start in range(0, len(batch), _SLICE):
        part = batch[start : start + _SLICE]
        good, bad = _VALIDATOR.validate([line.fields for line in part])
        mapped, unmappable = map_valid(good, mapper)
        del good
        bad.update(unmappable)
        for index, line in mapped:
            result.lines.append(line)
            result.source_lines.append(part[index].line_no)
        for index in sorted(bad):
            raw = part[index]
            result.rejects.append(Reject(f"{report.name}:{raw.line_no}", raw.raw, bad[index]))
    return result
