"""One ECB reference-rate fixing: how many units of a currency one euro bought on a day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.commission import CurrencyCode

# fx_rates.per_eur is DECIMAL(18,6): the ECB publishes at most 5 significant digits, so a
# rate with more than 6 decimals is not an ECB rate and would be silently rounded on insert.
_ONE_MILLIONTH = Decimal("0.000001")
_TOO_BIG = Decimal(10) ** 12


class FxFixingError(ValueError):
    """A rates file holds something that is not a fixing; the message names where and what."""


class FxFixing(BaseModel):
    """One row of `fx_rates` (EUR itself is implied as 1 and never stored)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    day: date
    currency: CurrencyCode
    per_eur: Decimal = Field(gt=0)

    @field_validator("per_eur", mode="before")
    @classmethod
    def _exact_decimal(cls, value: object) -> object:
        # The published decimal string is kept as it is (affiliate-formats.md section 11);
        # a float would already have lost it.
        if isinstance(value, float):
            raise ValueError("a rate must be a decimal string, not a binary float")
        return value

    @field_validator("per_eur")
    @classmethod
    def _fits_the_column(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("a rate must be a finite number")
        if value >= _TOO_BIG:
            raise ValueError(f"{value} does not fit DECIMAL(18,6)")
        if value != value.quantize(_ONE_MILLIONTH, rounding=ROUND_DOWN):
            raise ValueError(f"{value} has more than 6 decimal places")
        return value

    @field_validator("currency")
    @classmethod
    def _not_the_euro(cls, value: str) -> str:
        if value == "EUR":
            raise ValueError("EUR is the reference currency (1 per euro), not a fixing")
        return value


def validate_fixing(raw: Mapping[str, object], *, where: str) -> FxFixing:
    """A raw fixing (strings as read) as an FxFixing, or FxFixingError naming `where`."""
    try:
        return FxFixing.model_validate(raw)
    except ValidationError as error:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in error.errors()
        )
        shown = ", ".join(f"{k}={v!r}" for k, v in raw.items())
        raise FxFixingError(f"{where}: not a fixing ({reasons}): {shown}") from None
