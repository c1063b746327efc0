"""impact.com Partner API Action records and their mapping to CommissionLine."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.commission import CommissionLine, CommissionStatus
from schemas.raw_types import (
    DecimalAmount,
    OffsetTimestamp,
    OptionalDecimal,
    OptionalOffsetTimestamp,
    OptionalText,
    validate_records,
)
from schemas.validation import BatchValidator, ValidatedBatch

NETWORK = "impact"


class ImpactAction(BaseModel):
    """One element of `Actions` from GET /Mediapartners/{AccountSID}/Actions (v16 spec)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    id: str = Field(alias="Id", min_length=1)
    state: str = Field(alias="State")
    campaign_id: OptionalText = Field(default=None, alias="CampaignId")
    campaign_name: OptionalText = Field(default=None, alias="CampaignName")
    action_tracker_name: OptionalText = Field(default=None, alias="ActionTrackerName")
    payout: DecimalAmount = Field(alias="Payout")
    amount: OptionalDecimal = Field(default=None, alias="Amount")
    currency: str = Field(alias="Currency")
    delta_payout: OptionalDecimal = Field(default=None, alias="DeltaPayout")
    intended_payout: OptionalDecimal = Field(default=None, alias="IntendedPayout")
    event_date: OffsetTimestamp = Field(alias="EventDate")
    creation_date: OptionalOffsetTimestamp = Field(default=None, alias="CreationDate")
    locking_date: OptionalOffsetTimestamp = Field(default=None, alias="LockingDate")
    cleared_date: OptionalOffsetTimestamp = Field(default=None, alias="ClearedDate")
    oid: OptionalText = Field(default=None, alias="Oid")
    sub_id1: OptionalText = Field(default=None, alias="SubId1")
    sub_id2: OptionalText = Field(default=None, alias="SubId2")
    sub_id3: OptionalText = Field(default=None, alias="SubId3")
    shared_id: OptionalText = Field(default=None, alias="SharedId")


def impact_status(raw: ImpactAction) -> CommissionStatus:
    """PENDING -> pending; APPROVED -> approved, or paid once ClearedDate is set; REVERSED."""
    state = raw.state.strip().upper()
    if state == "PENDING":
        return "pending"
    if state == "APPROVED":
        # ClearedDate is empty until the payout clears into the balance (affiliate-formats §6).
        return "paid" if raw.cleared_date is not None else "approved"
    if state == "REVERSED":
        return "reversed"
    raise ValueError(f"State: unknown impact.com action state {raw.state!r}")


def to_commission_line(raw: ImpactAction, *, account: str) -> CommissionLine:
    """Map one Action to a ledger line (the same Id is updated in place by later pulls)."""
    return CommissionLine(
        network=NETWORK,
        account=account,
        line_id=raw.id,
        # The event's calendar day in the offset impact.com reported it with (§2).
        event_date=raw.event_date.date(),
        event_at=raw.event_date,
        status=impact_status(raw),
        sale_amount=raw.amount if raw.amount is not None else Decimal(0),
        commission_amount=raw.payout,
        currency=raw.currency.strip().upper(),
        program=raw.campaign_name,
        tracking_id=raw.sub_id1,
        order_id=raw.oid,
    )


_VALIDATOR: BatchValidator[ImpactAction] = BatchValidator(ImpactAction)


def validate_page(records: list[dict[str, Any]], *, account: str, page: int) -> ValidatedBatch:
    """Validate and map one page of Actions; bad records become `page N:index` rejects."""
    return validate_records(
        _VALIDATOR, partial(to_commission_line, account=account), records, page=page
    )
