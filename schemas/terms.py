"""A ledger line's payout facts the `commissions` row does not hold (lock, validation, payment
link, CJ extension), validated from the same API records, as the rows of `commission_terms`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from schemas.raw_types import OptionalOffsetTimestamp, OptionalText, OptionalUtcTimestamp

TERMS_SCHEMA = pa.schema(
    [
        ("line_id", pa.string()),
        ("campaign_id", pa.string()),
        ("locking_date", pa.date32()),
        ("validated_on", pa.date32()),
        ("payment_id", pa.string()),
        ("extended", pa.bool_()),
        ("network_status", pa.string()),
        ("source_line", pa.int64()),
    ]
)
"""One row per accepted record; `source_line` is the record's index in its page."""

TermsRow = tuple[str, str | None, date | None, date | None, str | None, bool, str | None, int]


def terms_table(rows: Sequence[TermsRow]) -> pa.Table:
    """Rows (in TERMS_SCHEMA order) as an Arrow table."""
    columns: list[tuple[Any, ...]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in TERMS_SCHEMA.names]
    )
    return pa.Table.from_arrays(
        [pa.array(list(v), type=f.type) for v, f in zip(columns, TERMS_SCHEMA, strict=True)],
        schema=TERMS_SCHEMA,
    )


def _day(value: datetime | None) -> date | None:
    # The calendar day in the offset the network sent (impact.com: the account's time zone),
    # as the network's own payout calendar counts it.
    return value.date() if value is not None else None


class ImpactTerms(BaseModel):
    """An Action's CampaignId and LockingDate (the impact.com payout facts, §2 and §10.1)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    id: str = Field(alias="Id")
    state: OptionalText = Field(default=None, alias="State")
    campaign_id: OptionalText = Field(default=None, alias="CampaignId")
    locking_date: OptionalOffsetTimestamp = Field(default=None, alias="LockingDate")


class AwinTerms(BaseModel):
    """A transaction's validationDate and paymentId (0 or absent: not in a payment yet)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    id: str
    commission_status: OptionalText = Field(default=None, alias="commissionStatus")
    validation_date: OptionalUtcTimestamp = Field(default=None, alias="validationDate")
    payment_id: OptionalText = Field(default=None, alias="paymentId")


class CJTerms(BaseModel):
    """A commission's actionStatus as sent (`extended` moves its lock a month on, §10.3)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    commission_id: str = Field(alias="commissionId")
    action_status: OptionalText = Field(default=None, alias="actionStatus")


def impact_terms(records: Sequence[dict[str, Any]], at: Sequence[int]) -> pa.Table:
    """Terms of the impact.com records at the accepted indexes `at`."""
    rows: list[TermsRow] = []
    for index in at:
        raw = ImpactTerms.model_validate(records[index])
        rows.append(
            (raw.id.strip(), raw.campaign_id, _day(raw.locking_date), None, None, False,
             raw.state, index)
        )  # fmt: skip
    return terms_table(rows)


def awin_terms(records: Sequence[dict[str, Any]], at: Sequence[int]) -> pa.Table:
    """Terms of the Awin records at the accepted indexes `at` (validation day in UTC, as we
    request every Awin timestamp in UTC)."""
    rows: list[TermsRow] = []
    for index in at:
        raw = AwinTerms.model_validate(records[index])
        payment = raw.payment_id if raw.payment_id not in (None, "0") else None
        validated = raw.validation_date.astimezone(UTC).date() if raw.validation_date else None
        rows.append(
            (raw.id, None, None, validated, payment, False, raw.commission_status, index)
        )  # fmt: skip
    return terms_table(rows)


def cj_terms(records: Sequence[dict[str, Any]], at: Sequence[int]) -> pa.Table:
    """Terms of the CJ records at the accepted indexes `at`."""
    rows: list[TermsRow] = []
    for index in at:
        raw = CJTerms.model_validate(records[index])
        status = raw.action_status.strip().lower() if raw.action_status else None
        extended = status == "extended"
        rows.append((raw.commission_id, None, None, None, None, extended, status, index))
    return terms_table(rows)
