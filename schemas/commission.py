"""The canonical ledger line every network's records are mapped to before loading."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

CommissionStatus = Literal["pending", "approved", "paid", "reversed"]
STATUSES: tuple[CommissionStatus, ...] = ("pending", "approved", "paid", "reversed")

_FOUR_PLACES = Decimal("0.0001")
# DECIMAL(18,4) holds 18 significant digits, 4 after the point: quantizing in an 18-digit
# context raises exactly when an amount does not fit, in one C call (this runs twice per
# ledger line; bench/ measured the three-step Python check at ~3.6 us a call).
_LEDGER_CONTEXT = Context(prec=18, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])


def _to_ledger_money(value: Decimal) -> Decimal:
    """Quantize to the ledger's 4 decimal places; refuse what DECIMAL(18,4) cannot hold."""
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    try:
        return value.quantize(_FOUR_PLACES, context=_LEDGER_CONTEXT)
    except InvalidOperation:
        raise ValueError("amount does not fit DECIMAL(18,4)") from None


Money = Annotated[Decimal, AfterValidator(_to_ledger_money)]
"""A DECIMAL(18,4) amount; floats are refused upstream (money never passes through float)."""

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class CommissionLine(BaseModel):
    """One row of the `commissions` table, as every connector's mapping produces it."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    network: str = Field(min_length=1)
    account: str = Field(min_length=1)
    line_id: str = Field(min_length=1)
    event_date: date
    event_at: datetime | None = None
    status: CommissionStatus
    sale_amount: Money
    commission_amount: Money
    currency: CurrencyCode
    quantity: int | None = None
    program: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    tracking_id: str | None = None
    order_id: str | None = None
    original_line_id: str | None = None


LEDGER_COLUMNS: tuple[str, ...] = tuple(CommissionLine.model_fields)
"""Column order shared by the Arrow batches the warehouse loads."""
