"""CJ Commission Detail (GraphQL) publisherCommissions records and their mapping."""

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
    OffsetTimestamp,
    OptionalDecimal,
    OptionalOffsetTimestamp,
    OptionalText,
    validate_records,
)
from schemas.terms import cj_terms
from schemas.validation import BatchValidator, ValidatedBatch

NETWORK = networks.CJ

_STATUSES: dict[str, CommissionStatus] = {
    # CJ docs mix the casing of these enum values (affiliate-formats.md §3).
    "new": "pending",
    "extended": "pending",
    "locked": "approved",
    "closed": "paid",
}


class CJCommission(BaseModel):
    """One `records` element of `publisherCommissions` (live-introspection SDL)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    commission_id: str = Field(alias="commissionId", min_length=1)
    action_status: str = Field(alias="actionStatus")
    action_type: OptionalText = Field(default=None, alias="actionType")
    action_tracker_name: OptionalText = Field(default=None, alias="actionTrackerName")
    advertiser_id: OptionalText = Field(default=None, alias="advertiserId")
    advertiser_name: OptionalText = Field(default=None, alias="advertiserName")
    posting_date: OffsetTimestamp = Field(alias="postingDate")
    event_date: OffsetTimestamp = Field(alias="eventDate")
    locking_date: OptionalOffsetTimestamp = Field(default=None, alias="lockingDate")
    order_id: OptionalText = Field(default=None, alias="orderId")
    original: bool | None = None
    original_action_id: OptionalText = Field(default=None, alias="originalActionId")
    correction_reason: OptionalText = Field(default=None, alias="correctionReason")
    pub_commission_amount_usd: DecimalAmount = Field(alias="pubCommissionAmountUsd")
    sale_amount_usd: OptionalDecimal = Field(default=None, alias="saleAmountUsd")
    shopper_id: OptionalText = Field(default=None, alias="shopperId")
    website_id: OptionalText = Field(default=None, alias="websiteId")


def cj_status(raw: CJCommission) -> CommissionStatus:
    """new/extended -> pending, locked -> approved, closed -> paid (any case)."""
    status = _STATUSES.get(raw.action_status.strip().lower())
    if status is None:
        raise ValueError(f"actionStatus: unknown CJ status {raw.action_status!r}")
    return status


def to_commission_line(raw: CJCommission, *, account: str) -> CommissionLine:
    """Map one commission record; corrections are their own lines linked by originalActionId.

    A restatement arrives as a full reversal (negative amounts) plus a new-state record, each
    with a new commissionId (§3). Both keep their actionStatus-derived status and their sign,
    so the net per order is the plain sum of the lines sharing original_line_id.
    """
    return CommissionLine(
        network=NETWORK,
        account=account,
        line_id=raw.commission_id,
        event_date=raw.event_date.astimezone(UTC).date(),
        event_at=raw.event_date,
        status=cj_status(raw),
        sale_amount=raw.sale_amount_usd if raw.sale_amount_usd is not None else Decimal(0),
        # Only the *Usd amounts have a known currency; *PubCurrency has no code beside it.
        commission_amount=raw.pub_commission_amount_usd,
        currency="USD",
        program=raw.advertiser_name,
        tracking_id=raw.shopper_id,
        order_id=raw.order_id,
        original_line_id=raw.original_action_id,
    )


_VALIDATOR: BatchValidator[CJCommission] = BatchValidator(CJCommission)


def validate_page(records: list[dict[str, Any]], *, account: str, page: int) -> ValidatedBatch:
    """Validate and map one page of records; bad records become `page N:index` rejects."""
    batch = validate_records(
        _VALIDATOR, partial(to_commission_line, account=account), records, page=page
    )
    batch.terms = cj_terms(records, batch.source_lines)
    return batch


RAW_MODELS = {"cj.commission": RawModel(CJCommission, validate_page)}
"""What the pull loop finds by the name connectors.cj declares."""
