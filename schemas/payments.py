"""Payments from the networks (impact.com invoices and withdrawal settings, Awin payments and
their breakdowns) validated into the rows of `payments`, `payment_items` and `payout_settings`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.commission import CurrencyCode, Money
from schemas.raw_types import DecimalAmount, OptionalText
from schemas.validation import Reject, format_errors

PaymentStatus = Literal["scheduled", "paid", "overdue"]

# `EventMonthYear`: the month (one or two digits) then the four-digit year, no separator:
# "12021" is January 2021, "112026" November 2026 (affiliate-formats.md §10.1).
_EVENT_MONTH_YEAR = re.compile(r"([0-9]{1,2})([0-9]{4})")


def parse_event_month_year(value: object) -> date:
    """The first day of the month an impact.com `EventMonthYear` names; anything else raises."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"EventMonthYear must be digits such as '112026', got {value!r}")
    text = str(value)
    match = _EVENT_MONTH_YEAR.fullmatch(text)
    if match is None:
        raise ValueError(
            f"EventMonthYear {text!r} is not a month of one or two digits then a 4-digit year"
        )
    month, year = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise ValueError(f"EventMonthYear {text!r} names month {month}, not 1-12")
    if year < 1970:
        raise ValueError(f"EventMonthYear {text!r} names year {year}, before any network existed")
    return date(year, month, 1)


def _calendar_day(value: Any) -> Any:
    """A date from `2026-11-15`, or the calendar day of a timestamp in the offset it was sent
    with (`2026-11-15T00:00:00-08:00` is the 15th, as the network shows it); blank is None."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            raise ValueError(f"not an ISO 8601 date or timestamp: {value!r}") from None
    raise ValueError(f"expected an ISO 8601 date string, got {type(value).__name__}")


CalendarDay = Annotated[date, BeforeValidator(_calendar_day)]
OptionalCalendarDay = Annotated[date | None, BeforeValidator(_calendar_day)]
EventMonth = Annotated[date, BeforeValidator(parse_event_month_year)]


# --- the ledger's rows ----------------------------------------------------------------------


class _PaymentKey(BaseModel):
    """The key every payment row starts with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    network: str = Field(min_length=1)
    account: str = Field(min_length=1)
    payment_id: str = Field(min_length=1)


class PaymentRow(_PaymentKey):
    """One row of `payments`."""

    currency: CurrencyCode
    amount: Money
    status: PaymentStatus
    created_on: date | None = None
    due_on: date | None = None
    paid_on: date | None = None


class PaymentItemRow(_PaymentKey):
    """One row of `payment_items`."""

    item: int = Field(ge=0)
    program: str | None = None
    event_month: date | None = None
    lines: int | None = None
    amount: Money
    description: str | None = None
    status: PaymentStatus | None = None
    due_on: date | None = None
    paid_on: date | None = None


class PayoutSettingRow(BaseModel):
    """One row of `payout_settings`: how and when an account is paid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    network: str = Field(min_length=1)
    account: str = Field(min_length=1)
    scheduling_type: Literal["BALANCE_THRESHOLD", "FIXED_DAY"]
    payment_day: int | None = None
    threshold: Money | None = None
    currency: CurrencyCode | None = None


@dataclass
class PaymentBatch:
    """Payments and their items from one page, plus the page's rejected records."""

    payments: list[PaymentRow] = field(default_factory=list)
    items: list[PaymentItemRow] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    records_read: int = 0

    def extend(self, other: PaymentBatch) -> None:
        """Append another batch's rows, rejects and counts to this one."""
        self.payments += other.payments
        self.items += other.items
        self.rejects += other.rejects
        self.records_read += other.records_read

    def merge(self, other: PaymentBatch) -> None:
        """Append a later page: a payment read again (a listing that moved while it was paged)
        keeps only its latest reading, with that reading's items."""
        again = {p.payment_id for p in other.payments}
        self.payments = [p for p in self.payments if p.payment_id not in again]
        self.items = [i for i in self.items if i.payment_id not in again]
        self.extend(other)


def _each(
    records: Sequence[Any],
    what: str,
    locator: Callable[[int], str],
    read: Callable[[dict[str, Any], int], tuple[list[PaymentRow], list[PaymentItemRow]]],
) -> PaymentBatch:
    """Read every record on its own: one that fails is a reject at its locator, with reasons."""
    batch = PaymentBatch(records_read=len(records))
    for index, record in enumerate(records):
        reasons: tuple[str, ...]
        try:
            if not isinstance(record, dict):
                raise ValueError(f"{what} must be a JSON object, got {type(record).__name__}")
            payments, items = read(record, index)
        except ValidationError as error:
            reasons = format_errors(error)
        except ValueError as error:
            reasons = (str(error),)
        else:
            batch.payments += payments
            batch.items += items
            continue
        raw = json.dumps(record, default=str)
        batch.rejects.append(Reject(locator=locator(index), raw=raw, reasons=reasons))
    return batch


# --- impact.com -----------------------------------------------------------------------------

_IMPACT_LINE_STATUS: dict[str, PaymentStatus] = {
    "PENDING": "scheduled",
    "PAID": "paid",
    "OVERDUE": "overdue",
}


class ImpactInvoiceLine(BaseModel):
    """One `LineItems[]` element of an impact.com invoice (impact-partner-invoices-v16)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    campaign_id: str = Field(alias="CampaignId", min_length=1)
    description: OptionalText = Field(default=None, alias="Description")
    event_month: EventMonth = Field(alias="EventMonthYear")
    actions: int | None = Field(default=None, alias="Actions")
    total_item_amount: DecimalAmount = Field(alias="TotalItemAmount")
    status: str = Field(alias="Status")
    due_date: OptionalCalendarDay = Field(default=None, alias="DueDate")
    paid_date: OptionalCalendarDay = Field(default=None, alias="PaidDate")

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        status = value.strip().upper()
        if status not in _IMPACT_LINE_STATUS:
            raise ValueError(f"Status must be PENDING, PAID or OVERDUE, got {value!r}")
        return status

    @property
    def payment_status(self) -> PaymentStatus:
        """The line's status in `payments` terms."""
        return _IMPACT_LINE_STATUS[self.status]


class ImpactInvoice(BaseModel):
    """One invoice from GET /Mediapartners/{AccountSID}/Invoices."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    id: str = Field(alias="Id", min_length=1)
    created_date: OptionalCalendarDay = Field(default=None, alias="CreatedDate")
    currency: str = Field(alias="Currency")
    total_amount: DecimalAmount = Field(alias="TotalAmount")
    line_items: list[ImpactInvoiceLine] = Field(default_factory=list, alias="LineItems")


def invoice_status(lines: Sequence[ImpactInvoiceLine]) -> PaymentStatus:
    """Paid once every line is PAID; overdue when any line is; else scheduled."""
    statuses = {line.payment_status for line in lines}
    if statuses and statuses == {"paid"}:
        return "paid"
    return "overdue" if "overdue" in statuses else "scheduled"


def invoice_rows(
    invoice: ImpactInvoice, *, account: str
) -> tuple[PaymentRow, list[PaymentItemRow]]:
    """An invoice as one payment and one item per line item."""
    status = invoice_status(invoice.line_items)
    dues = [line.due_date for line in invoice.line_items if line.due_date is not None]
    paids = [line.paid_date for line in invoice.line_items if line.paid_date is not None]
    payment = PaymentRow(
        network="impact",
        account=account,
        payment_id=invoice.id,
        currency=invoice.currency.strip().upper(),
        amount=invoice.total_amount,
        status=status,
        created_on=invoice.created_date,
        due_on=max(dues) if dues else None,
        paid_on=max(paids) if status == "paid" and paids else None,
    )
    items = [
        PaymentItemRow(
            network="impact",
            account=account,
            payment_id=invoice.id,
            item=index,
            program=line.campaign_id,
            event_month=line.event_month,
            lines=line.actions,
            amount=line.total_item_amount,
            description=line.description,
            status=line.payment_status,
            due_on=line.due_date,
            paid_on=line.paid_date,
        )
        for index, line in enumerate(invoice.line_items)
    ]
    return payment, items


def validate_invoices(records: Sequence[Any], *, account: str, page: int) -> PaymentBatch:
    """Validate one page of `Invoices`; a malformed invoice is a `page P:I` reject."""

    def read(record: dict[str, Any], _: int) -> tuple[list[PaymentRow], list[PaymentItemRow]]:
        payment, items = invoice_rows(ImpactInvoice.model_validate(record), account=account)
        return [payment], items

    return _each(records, "an invoice", lambda index: f"page {page}:{index}", read)


class ImpactWithdrawalSettings(BaseModel):
    """GET /Mediapartners/{AccountSID}/WithdrawalSettings (withdrawalsettings-v16)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    scheduling_type: Literal["BALANCE_THRESHOLD", "FIXED_DAY"] = Field(
        alias="PaymentSchedulingType"
    )
    payment_day: int | None = Field(default=None, alias="PaymentDay")
    threshold: DecimalAmount | None = Field(
        default=None,
        validation_alias=AliasChoices("PaymentThreshold", "Threshold", "BalanceThreshold"),
    )
    currency: OptionalText = Field(default=None, alias="Currency")

    @model_validator(mode="before")
    @classmethod
    def _upper_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("PaymentSchedulingType"), str):
            data = {**data, "PaymentSchedulingType": data["PaymentSchedulingType"].strip().upper()}
        for key in ("PaymentDay", "PaymentThreshold", "Threshold", "BalanceThreshold"):
            if isinstance(data, dict) and data.get(key) == "":
                data = {**data, key: None}
        return data

    @model_validator(mode="after")
    def _day_for_fixed(self) -> ImpactWithdrawalSettings:
        if self.scheduling_type == "FIXED_DAY" and self.payment_day not in (1, 15):
            raise ValueError(f"FIXED_DAY needs PaymentDay 1 or 15, got {self.payment_day!r}")
        return self


def validate_withdrawal_settings(body: Any, *, account: str) -> PayoutSettingRow:
    """The account's payout setting; raises ValueError naming what was expected."""
    if not isinstance(body, dict):
        raise ValueError(f"WithdrawalSettings must be a JSON object, got {type(body).__name__}")
    try:
        raw = ImpactWithdrawalSettings.model_validate(body)
    except ValidationError as error:
        raise ValueError("WithdrawalSettings: " + "; ".join(format_errors(error))) from None
    return PayoutSettingRow(
        network="impact",
        account=account,
        scheduling_type=raw.scheduling_type,
        payment_day=raw.payment_day if raw.scheduling_type == "FIXED_DAY" else None,
        threshold=raw.threshold,
        currency=raw.currency.strip().upper() if raw.currency else None,
    )


# --- Awin -----------------------------------------------------------------------------------

_AWIN_PAYMENT_STATUS: dict[str, PaymentStatus] = {
    "paid": "paid",
    "processed": "paid",
    "completed": "paid",
    "scheduled": "scheduled",
    "pending": "scheduled",
    "processing": "scheduled",
    "overdue": "overdue",
}


def _money_object(data: Any, *keys: str) -> Any:
    """Awin money may come as `{amount, currency}` (as on transactions) or as a bare number
    beside a `currency` field: flatten the first shape into the second."""
    if not isinstance(data, dict):
        return data
    for key in keys:
        value = data.get(key)
        if isinstance(value, dict):
            flat = {**data, key: value.get("amount", value.get("value"))}
            if "currency" in value and data.get("currency") in (None, ""):
                flat["currency"] = value["currency"]
            return flat
    return data


class AwinPayment(BaseModel):
    """One `results[]` element of GET /v1/publishers/{id}/payments (help.awin.com, 2026-11-17)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    payment_id: str = Field(alias="paymentId", pattern=r"^[0-9]+$")
    processing_date: CalendarDay = Field(alias="processingDate")
    amount: DecimalAmount = Field(validation_alias=AliasChoices("amount", "paymentAmount"))
    currency: str = Field(validation_alias=AliasChoices("currency", "paymentCurrency"))
    status: OptionalText = Field(default=None, validation_alias=AliasChoices("status"))

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        return _money_object(data, "amount", "paymentAmount")

    @property
    def payment_status(self) -> PaymentStatus:
        """A listed payment is paid unless it says otherwise (the list is payments made)."""
        if self.status is None:
            return "paid"
        status = _AWIN_PAYMENT_STATUS.get(self.status.strip().lower())
        if status is None:
            raise ValueError(f"status: unknown Awin payment status {self.status!r}")
        return status


def validate_awin_payments(records: Sequence[Any], *, account: str, page: int) -> PaymentBatch:
    """Validate one page of Awin payments; a malformed one is a `page P:I` reject."""

    def read(record: dict[str, Any], _: int) -> tuple[list[PaymentRow], list[PaymentItemRow]]:
        raw = AwinPayment.model_validate(record)
        status = raw.payment_status
        payment = PaymentRow(
            network="awin",
            account=account,
            payment_id=raw.payment_id,
            currency=raw.currency.strip().upper(),
            amount=raw.amount,
            status=status,
            created_on=raw.processing_date,
            due_on=raw.processing_date,
            paid_on=raw.processing_date if status == "paid" else None,
        )
        return [payment], []

    return _each(records, "a payment", lambda index: f"page {page}:{index}", read)


class AwinBreakdown(BaseModel):
    """One `results[]` element of GET /v1/publishers/{id}/payments/{paymentId}/breakdowns."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    advertiser_id: str = Field(alias="advertiserId", min_length=1)
    advertiser_name: OptionalText = Field(default=None, alias="advertiserName")
    payment: DecimalAmount = Field(validation_alias=AliasChoices("payment", "amount", "netAmount"))

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        return _money_object(data, "payment", "amount", "netAmount")


def validate_awin_breakdowns(
    records: Sequence[Any], *, account: str, payment_id: str, first_item: int, page: int
) -> PaymentBatch:
    """Validate one page of a payment's breakdowns (net per advertiser) into its items."""

    def read(record: dict[str, Any], index: int) -> tuple[list[PaymentRow], list[PaymentItemRow]]:
        raw = AwinBreakdown.model_validate(record)
        item = PaymentItemRow(
            network="awin",
            account=account,
            payment_id=payment_id,
            item=first_item + index,
            program=raw.advertiser_id,
            amount=raw.payment,
            description=raw.advertiser_name,
        )
        return [], [item]

    def locator(index: int) -> str:
        return f"payment {payment_id} page {page}:{index}"

    return _each(records, "a breakdown", locator, read)
