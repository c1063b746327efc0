"""Awin Publisher API transaction records and their mapping to CommissionLine."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas import networks
from schemas.commission import CommissionLine, CommissionStatus
from schemas.raw_models import RawModel
from schemas.raw_types import (
    DecimalAmount,
    OptionalDecimal,
    OptionalText,
    OptionalUtcTimestamp,
    UtcTimestamp,
    validate_records,
)
from schemas.terms import awin_terms
from schemas.validation import BatchValidator, ValidatedBatch

NETWORK = networks.AWIN


class AwinAmount(BaseModel):
    """`{amount, currency}`: Awin money is a JSON number in the transaction's own currency."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    amount: DecimalAmount
    currency: str = Field(min_length=3, max_length=3)


class AwinClickRefs(BaseModel):
    """`clickRefs`: up to six publisher click references."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    click_ref: OptionalText = Field(default=None, alias="clickRef")
    click_ref2: OptionalText = Field(default=None, alias="clickRef2")


class AwinBasketProduct(BaseModel):
    """One `basketProducts` entry (present with showBasketProducts=true)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    product_id: OptionalText = Field(default=None, alias="productId")
    product_name: OptionalText = Field(default=None, alias="productName")
    quantity: int | None = None
    unit_price: OptionalDecimal = Field(default=None, alias="unitPrice")


class AwinTransaction(BaseModel):
    """One element of the bare array from GET /publishers/{publisherId}/transactions/."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    id: str = Field(min_length=1)
    advertiser_id: OptionalText = Field(default=None, alias="advertiserId")
    advertiser_name: OptionalText = Field(default=None, alias="advertiserName")
    campaign: OptionalText = None
    commission_status: str = Field(alias="commissionStatus")
    commission_amount: AwinAmount = Field(alias="commissionAmount")
    sale_amount: AwinAmount | None = Field(default=None, alias="saleAmount")
    old_commission_amount: AwinAmount | None = Field(default=None, alias="oldCommissionAmount")
    old_sale_amount: AwinAmount | None = Field(default=None, alias="oldSaleAmount")
    click_refs: AwinClickRefs | None = Field(default=None, alias="clickRefs")
    transaction_date: UtcTimestamp = Field(alias="transactionDate")
    validation_date: OptionalUtcTimestamp = Field(default=None, alias="validationDate")
    amended: bool = False
    amend_reason: OptionalText = Field(default=None, alias="amendReason")
    decline_reason: OptionalText = Field(default=None, alias="declineReason")
    paid_to_publisher: bool = Field(default=False, alias="paidToPublisher")
    order_ref: OptionalText = Field(default=None, alias="orderRef")
    basket_products: list[AwinBasketProduct] | None = Field(default=None, alias="basketProducts")


def awin_status(raw: AwinTransaction) -> CommissionStatus:
    """pending; approved (paid once paidToPublisher); declined and deleted -> reversed."""
    status = raw.commission_status.strip().lower()
    if status == "pending":
        return "pending"
    if status == "approved":
        return "paid" if raw.paid_to_publisher else "approved"
    if status in ("declined", "deleted"):
        return "reversed"
    raise ValueError(f"commissionStatus: unknown Awin status {raw.commission_status!r}")


def to_commission_line(raw: AwinTransaction, *, account: str) -> CommissionLine:
    """Map one transaction to a ledger line; amended rows keep their id and replace it."""
    currency = raw.commission_amount.currency.strip().upper()
    sale = Decimal(0)
    if raw.sale_amount is not None:
        if raw.sale_amount.currency.strip().upper() != currency:
            raise ValueError(
                f"saleAmount: currency {raw.sale_amount.currency} differs from commission "
                f"currency {currency}; one ledger line holds one currency"
            )
        sale = raw.sale_amount.amount
    products = raw.basket_products or []
    # Product fields only describe the line when the basket holds exactly one product.
    product = products[0] if len(products) == 1 else None
    return CommissionLine(
        network=NETWORK,
        account=account,
        line_id=raw.id,
        # Timestamps are naive in the requested timezone, and we always request UTC (§4).
        event_date=raw.transaction_date.astimezone(UTC).date(),
        event_at=raw.transaction_date,
        status=awin_status(raw),
        sale_amount=sale,
        commission_amount=raw.commission_amount.amount,
        currency=currency,
        quantity=product.quantity if product else None,
        program=raw.advertiser_name or raw.campaign or raw.advertiser_id,
        product_id=product.product_id if product else None,
        product_name=product.product_name if product else None,
        tracking_id=raw.click_refs.click_ref if raw.click_refs else None,
        order_id=raw.order_ref,
    )


_VALIDATOR: BatchValidator[AwinTransaction] = BatchValidator(AwinTransaction)


def validate_page(records: list[dict[str, Any]], *, account: str, page: int) -> ValidatedBatch:
    """Validate and map one response array; bad records become `page N:index` rejects."""
    batch = validate_records(
        _VALIDATOR, partial(to_commission_line, account=account), records, page=page
    )
    batch.terms = awin_terms(records, batch.source_lines)
    return batch


RAW_MODELS = {"awin.transaction": RawModel(AwinTransaction, validate_page)}
"""What the pull loop finds by the name connectors.awin declares."""
