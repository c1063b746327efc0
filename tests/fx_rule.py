"""The conversion rule of issue 14 worked out by hand in Python's Decimal, for the fx tests."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal

# ROUND_HALF_UP is half away from zero; 80 digits hold any amount x rate / rate exactly
# enough that the 4th decimal is decided before rounding.
EXACT = Context(prec=80)
FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class Line:
    """The fields of a ledger line the rule reads."""

    event_date: date
    currency: str
    sale_amount: Decimal
    commission_amount: Decimal


@dataclass(frozen=True)
class Converted:
    """One line in the base currency (None amounts: unconverted)."""

    rate_day: date | None
    fallback: bool
    sales_base: Decimal | None
    commission_base: Decimal | None


def convert(amount: Decimal, per_eur_from: Decimal, per_eur_to: Decimal) -> Decimal:
    """amount x per_eur[to] / per_eur[from], exact, then 4 places half away from zero."""
    exact = EXACT.divide(EXACT.multiply(amount, per_eur_to), per_eur_from)
    return exact.quantize(FOUR, rounding=ROUND_HALF_UP, context=EXACT)


def per_eur(rates: dict[tuple[date, str], Decimal], day: date, currency: str) -> Decimal | None:
    """The currency's fixing that day; EUR is 1 on every day the ECB published."""
    if currency == "EUR":
        return Decimal(1) if any(d == day for d, _ in rates) else None
    return rates.get((day, currency))


def convert_line(
    line: Line, rates: dict[tuple[date, str], Decimal], base: str, basis: str = "event"
) -> Converted:
    """The rule: the fixing of the reference day or the latest up to 7 days earlier."""
    if line.currency == base:
        return Converted(None, False, line.sale_amount, line.commission_amount)
    if basis == "event":
        ref = line.event_date
    else:
        month_end = line.event_date.replace(
            day=calendar.monthrange(line.event_date.year, line.event_date.month)[1]
        )
        published = [d for d, _ in rates if d <= month_end]
        ref = max(published) if published else month_end
    for back in range(8):
        day = ref - timedelta(days=back)
        rate_from, rate_to = per_eur(rates, day, line.currency), per_eur(rates, day, base)
        if rate_from is not None and rate_to is not None:
            return Converted(
                day,
                day != ref,
                convert(line.sale_amount, rate_from, rate_to),
                convert(line.commission_amount, rate_from, rate_to),
            )
    return Converted(None, False, None, None)
