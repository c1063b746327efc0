from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.commission import CommissionLine

BASE = {
    "network": "n",
    "account": "a",
    "line_id": "1",
    "event_date": "2026-01-01",
    "status": "approved",
    "sale_amount": "0",
    "currency": "USD",
}


def test_amounts_are_kept_to_four_places_with_bankers_rounding():
    line = CommissionLine(**BASE, commission_amount="1.00005")
    assert line.commission_amount == Decimal("1.0000")


@pytest.mark.parametrize("amount", ["1e30", "100000000000000", "NaN", "Infinity"])
def test_amounts_the_ledger_cannot_hold_are_validation_errors(amount):
    with pytest.raises(ValidationError):
        CommissionLine(**BASE, commission_amount=amount)


def test_currency_must_be_an_iso_code():
    with pytest.raises(ValidationError):
        CommissionLine(**{**BASE, "currency": "usd"}, commission_amount="1")


@given(
    st.decimals(min_value=Decimal("-99999999999999"), max_value=Decimal("99999999999999"), places=4)
)
def test_any_four_place_amount_round_trips_exactly(amount):
    assert CommissionLine(**BASE, commission_amount=amount).commission_amount == amount
