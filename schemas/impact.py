"""impact.com Partner API Action records and their mapping to CommissionLine."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Literal, NotRequired

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict

from schemas import networks
from schemas.commission import CommissionLine, CommissionStatus
from schemas.raw_models import RawModel
from schemas.raw_types import (
    DecimalAmount,
    OffsetTimestamp,
    OptionalDecimal,
    OptionalOffsetTimestamp,
    OptionalText,
)
from schemas.terms import impact_terms, terms_table
from schemas.validation import (
    LEDGER_ARROW_SCHEMA,
    BatchValidator,
    ColumnarBatch,
    Reject,
    lines_to_table,
    map_valid,
)

NETWORK = networks.IMPACT


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
    intended_amount: OptionalDecimal = Field(default=None, alias="IntendedAmount")
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
    """Map one Action to a ledger line (the same Id is updated in place by later pulls).

    A REVERSED action keeps the amount that was reversed: impact.com zeroes `Payout` and
    `Amount` and keeps them in `IntendedPayout`/`IntendedAmount` (affiliate-formats.md §2),
    as Awin keeps a declined transaction's amount (README "Reversed lines").
    """
    status = impact_status(raw)
    payout, amount = raw.payout, raw.amount
    if status == "reversed":
        payout = raw.intended_payout if raw.intended_payout is not None else payout
        amount = raw.intended_amount if raw.intended_amount is not None else amount
    return CommissionLine(
        network=NETWORK,
        account=account,
        line_id=raw.id,
        # The event's calendar day in the offset impact.com reported it with (§2).
        event_date=raw.event_date.date(),
        event_at=raw.event_date,
        status=status,
        sale_amount=amount if amount is not None else Decimal(0),
        commission_amount=payout,
        currency=raw.currency.strip().upper(),
        program=raw.campaign_name,
        tracking_id=raw.sub_id1,
        order_id=raw.oid,
    )


_VALIDATOR: BatchValidator[ImpactAction] = BatchValidator(ImpactAction)


# --- bulk path ------------------------------------------------------------------------------
# Profiling a 100k-action pull showed ~4 s of ~5 s in validating an ImpactAction and then a
# CommissionLine per action (Python BeforeValidators on every field, two models per record)
# and ~0.5 s more in turning those models into Arrow columns. The bulk path validates a whole
# page with one reused TypeAdapter whose types are narrower than ImpactAction's: a record
# passes it only in the plain shape impact.com sends (money as "12.50", blanks as "", a known
# State, an upper-case currency), and then passes ImpactAction and CommissionLine with exactly
# the values the columns below are built from. Every other record (a reject, or an odd shape
# the model still accepts, such as "1,234.50", " usd " or a numeric Id) goes down the
# per-model path, which decides it and words its reasons as before.
# tests/unit/test_impact_bulk.py checks that the two paths agree.

_Text = Annotated[str, Strict()]
# A ledger text column: CommissionLine strips it (str_strip_whitespace), so strip it here the
# same way (pydantic-core's strip, which removes a subset of what str.isspace() calls blank).
_LedgerText = Annotated[str, Strict(), StringConstraints(strip_whitespace=True)]
# At most 14 integer and 4 decimal digits: it fits DECIMAL(18,4) without rounding, so Arrow's
# exact string-to-decimal cast gives the value CommissionLine's quantize would.
_MoneyText = Annotated[
    str, Strict(), StringConstraints(pattern=r"^-?[0-9]{1,14}(?:\.[0-9]{1,4})?$")
]
_Blank = Literal[""]  # impact.com's "unset"; other blank strings take the per-model path
_OptionalMoney = _Blank | _MoneyText | None
_OptionalTimestamp = _Blank | AwareDatetime | None
_OptionalText = _Text | None
_OptionalLedgerText = _LedgerText | None


class _ActionRow(TypedDict):
    """The plain shape of one Action (keys as impact.com names them; others are ignored)."""

    Id: Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]
    State: Literal["PENDING", "APPROVED", "REVERSED"]
    CampaignId: NotRequired[_OptionalText]
    CampaignName: NotRequired[_OptionalLedgerText]
    ActionTrackerName: NotRequired[_OptionalText]
    Payout: _MoneyText
    Amount: NotRequired[_OptionalMoney]
    Currency: Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Z]{3}$")]
    DeltaPayout: NotRequired[_OptionalMoney]
    IntendedPayout: NotRequired[_OptionalMoney]
    IntendedAmount: NotRequired[_OptionalMoney]
    EventDate: AwareDatetime
    CreationDate: NotRequired[_OptionalTimestamp]
    LockingDate: NotRequired[_OptionalTimestamp]
    ClearedDate: NotRequired[_OptionalTimestamp]
    Oid: NotRequired[_OptionalLedgerText]
    SubId1: NotRequired[_OptionalLedgerText]
    SubId2: NotRequired[_OptionalText]
    SubId3: NotRequired[_OptionalText]
    SharedId: NotRequired[_OptionalText]


assert {field.alias for field in ImpactAction.model_fields.values()} == set(
    _ActionRow.__annotations__
), "the bulk row must cover ImpactAction's fields exactly"

_ActionsBody = TypedDict(
    "_ActionsBody",
    {
        "Actions": list[_ActionRow],
        "@nextpageuri": NotRequired[_OptionalText],
        "@page": NotRequired[_OptionalText],
    },
)
_ROWS: TypeAdapter[list[_ActionRow]] = TypeAdapter(list[_ActionRow])
_BODY: TypeAdapter[_ActionsBody] = TypeAdapter(_ActionsBody)
_STATUS: dict[str, CommissionStatus] = {"PENDING": "pending", "REVERSED": "reversed"}
_MONEY = LEDGER_ARROW_SCHEMA.field("commission_amount").type


@dataclass(frozen=True)
class ActionRows:
    """Actions of one page that passed the bulk validator, in page order."""

    rows: list[_ActionRow]
    content: bytes  # the answer they were read from, for the per-model path

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class ActionsPage:
    """An Actions answer read and validated in one pass over its JSON bytes."""

    actions: ActionRows
    next_uri: str | None  # `@nextpageuri` as sent (None when absent)
    page_label: str | None  # `@page` as sent


def read_actions_json(content: bytes) -> ActionsPage | None:
    """Parse and validate an Actions answer in one pass; None when any part of it (the JSON,
    its shape or a record) needs the per-record path, which then decides and words it."""
    try:
        with _no_cyclic_gc():
            body = _BODY.validate_json(content)
    except ValidationError:
        return None
    actions = ActionRows(body["Actions"], content)
    return ActionsPage(actions, body.get("@nextpageuri"), body.get("@page"))


def read_actions_page(content: bytes) -> tuple[ActionRows, dict[str, str | None]] | None:
    """read_actions_json as the pull's one-pass reader: the rows and the @-metadata."""
    page = read_actions_json(content)
    if page is None:
        return None
    return page.actions, {"@nextpageuri": page.next_uri, "@page": page.page_label}


def validate_action_rows(actions: ActionRows, *, account: str, page: int) -> ColumnarBatch:
    """Ledger columns for a page that passed the bulk validator (`page` only names rejects)."""
    if not _plain_account(account):
        # CommissionLine would strip or refuse it: let the per-model path do exactly that.
        records = json.loads(actions.content, parse_float=Decimal)["Actions"]
        return validate_page(records, account=account, page=page)
    at = list(range(len(actions.rows)))
    with _no_cyclic_gc():
        table = _columns(actions.rows, at, account)
        terms = _bulk_terms(actions.rows, at)
    return ColumnarBatch(table, [], len(actions.rows), terms)


def validate_page(records: list[dict[str, Any]], *, account: str, page: int) -> ColumnarBatch:
    """Validate and map one page of decoded Actions; bad records become `page N:index` rejects.

    Records in the plain shape go through the bulk validator; the rest (and every record when
    the account is not plain text) through ImpactAction and CommissionLine, one by one.
    """
    good: list[_ActionRow] = []
    good_at: list[int] = []
    slow: list[int] = []
    if _plain_account(account):
        try:
            good = _ROWS.validate_python(records)
            good_at = list(range(len(records)))
        except ValidationError as exc:
            failed = {_index(item["loc"]) for item in exc.errors(include_url=False)}
            keep = [i for i in range(len(records)) if i not in failed]
            good = _ROWS.validate_python([records[i] for i in keep])
            good_at = keep
            slow = sorted(failed)
    else:
        slow = list(range(len(records)))
    table = _columns(good, good_at, account)
    terms = _bulk_terms(good, good_at)
    rejects: list[Reject] = []
    if slow:
        lines, sources, rejects = _per_model(records, slow, account=account, page=page)
        if lines:
            table = pa.concat_tables([table, lines_to_table(lines, sources)])
            table = table.take(pc.sort_indices(table, [("source_line", "ascending")]))
            terms = pa.concat_tables([terms, impact_terms(records, sources)])
    return ColumnarBatch(table, rejects, len(records), terms)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    # A page makes ~20k dicts and ~400k values at once, none in a cycle; the cyclic collector
    # walking them as they pile up cost a quarter of validate_json's time (bench/, 100k pull).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _index(loc: tuple[int | str, ...]) -> int:
    return int(loc[0])


def _plain_account(account: str) -> bool:
    # str.strip() removes everything pydantic's strip does, so an unchanged account is one
    # CommissionLine keeps as it is.
    return bool(account) and account.strip() == account


def _per_model(
    records: Sequence[Any], indexes: list[int], *, account: str, page: int
) -> tuple[list[CommissionLine], list[int], list[Reject]]:
    """The records at `indexes` through ImpactAction and CommissionLine, as before the bulk path."""
    subset = [records[i] for i in indexes]
    good, bad = _VALIDATOR.validate(subset)
    mapped, unmapped = map_valid(good, partial(to_commission_line, account=account))
    reasons = {**bad, **unmapped}
    lines = [line for _, line in mapped]
    sources = [indexes[j] for j, _ in mapped]
    rejects = [
        Reject(
            locator=f"page {page}:{indexes[j]}",
            raw=json.dumps(subset[j], default=str),
            reasons=reasons[j],
        )
        for j in sorted(reasons)
    ]
    return lines, sources, rejects


def _blank_to_none(value: str | None) -> str | None:
    # After pydantic's strip: what is still blank to str.isspace() was blank to ImpactAction.
    return None if value is None or not value or value.isspace() else value


def _bulk_terms(rows: Sequence[_ActionRow], at: list[int]) -> pa.Table:
    """The payout facts of bulk-validated rows, as impact_terms reads one record."""
    return terms_table(
        [
            (row["Id"], row.get("CampaignId"), _locking_day(row.get("LockingDate")), None, None,
             False, row["State"], index)
            for row, index in zip(rows, at, strict=True)
        ]
    )  # fmt: skip


def _locking_day(value: datetime | str | None) -> date | None:
    # The calendar day in the account's offset, as impact.com's payout calendar counts it.
    return value.date() if isinstance(value, datetime) else None


def _columns(rows: Sequence[_ActionRow], at: list[int], account: str) -> pa.Table:
    """The ledger columns of bulk-validated rows, mapped as to_commission_line maps one."""
    n = len(rows)
    schema = LEDGER_ARROW_SCHEMA
    string = pa.string()
    events = [row["EventDate"] for row in rows]
    status = [
        _STATUS.get(row["State"])
        or ("paid" if row.get("ClearedDate") not in (None, "") else "approved")
        for row in rows
    ]
    # A reversed line keeps what was reversed (to_commission_line): the Intended* values,
    # when impact.com sent them, in place of the zeroed Payout and Amount.
    reversed_rows = [row["State"] == "REVERSED" for row in rows]
    sales = [
        (rev and row.get("IntendedAmount")) or row.get("Amount") or "0"
        for row, rev in zip(rows, reversed_rows, strict=True)
    ]
    payouts = [
        (rev and row.get("IntendedPayout")) or row["Payout"]
        for row, rev in zip(rows, reversed_rows, strict=True)
    ]
    arrays = [
        pa.repeat(pa.scalar(NETWORK, string), n),
        pa.repeat(pa.scalar(account, string), n),
        pa.array([row["Id"] for row in rows], string),
        # The event's calendar day in the offset impact.com reported it with (§2).
        pa.array([event.date() for event in events], pa.date32()),
        pa.array(events, schema.field("event_at").type),
        pa.array(status, string),
        pa.array(sales, string).cast(_MONEY),
        pa.array(payouts, string).cast(_MONEY),
        pa.array([row["Currency"] for row in rows], string),
        pa.nulls(n, pa.int32()),
        pa.array([_blank_to_none(row.get("CampaignName")) for row in rows], string),
        pa.nulls(n, string),
        pa.nulls(n, string),
        pa.array([_blank_to_none(row.get("SubId1")) for row in rows], string),
        pa.array([_blank_to_none(row.get("Oid")) for row in rows], string),
        pa.nulls(n, string),
        pa.array(at, pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


RAW_MODELS = {
    "impact.action": RawModel(
        ImpactAction,
        validate_page,
        read_bytes=read_actions_page,
        validate_read=validate_action_rows,
    )
}
"""What the pull loop finds by the name connectors.impact declares."""
