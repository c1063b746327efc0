"""Seeded, phase-driven generator of Impact, Awin and CJ commission records for the sandbox."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

Network = Literal["impact", "awin", "cj"]
NETWORKS: tuple[Network, ...] = ("impact", "awin", "cj")
TotalsKey = tuple[str, str]
TotalsValue = tuple[Decimal, Decimal, int]
Totals = dict[TotalsKey, TotalsValue]

# Every advance() moves the dataset clock by this much; the changes of phase p are stamped
# inside (phase_time(p-1), phase_time(p)], so a later phase is always "newer" than an earlier one.
PHASE_STEP = timedelta(hours=1)
# A default dataset ends this many days before today (see Dataset.__init__).
DEFAULT_END_DAYS_AGO = 2

CENT = Decimal("0.01")
MILL = Decimal("0.001")
ZERO = Decimal("0.00")

# Impact shows timestamps in the account's time zone with an offset (reference §2:
# `2024-09-10T10:42:38-07:00`); a US-Pacific account gives both -07:00 and -08:00 across DST.
IMPACT_TZ = ZoneInfo("America/Los_Angeles")

# Awin accepts only these `timezone` values (reference §4).
AWIN_TIMEZONES: frozenset[str] = frozenset(
    {
        "Europe/Berlin",
        "Europe/Paris",
        "Europe/London",
        "Europe/Dublin",
        "Canada/Eastern",
        "Canada/Central",
        "Canada/Mountain",
        "Canada/Pacific",
        "US/Eastern",
        "US/Central",
        "US/Mountain",
        "US/Pacific",
        "UTC",
    }
)

IMPACT_SID = "IRsAndbOx4636PassiveLedger1"
AWIN_PUBLISHER_ID = 77777
CJ_PUBLISHER_ID = "7654321"

_COUNTRIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "USD": (("US", "CA", "Los Angeles"), ("US", "NY", "New York"), ("US", "TX", "Austin")),
    "EUR": (("DE", "BE", "Berlin"), ("FR", "IDF", "Paris"), ("NL", "NH", "Amsterdam")),
    "GBP": (("GB", "ENG", "London"), ("GB", "SCT", "Edinburgh"), ("GB", "ENG", "Leeds")),
}


@dataclass(frozen=True, slots=True)
class ImpactCampaign:
    """An impact.com brand program the partner is enrolled in."""

    campaign_id: int
    name: str
    currency: str
    tracker_id: int
    tracker_name: str
    lock_days: int
    rate: Decimal


IMPACT_CAMPAIGNS: tuple[ImpactCampaign, ...] = (
    ImpactCampaign(4636, "Northwind Outdoor", "USD", 11210, "Online Sale", 30, Decimal("0.08")),
    ImpactCampaign(7219, "Bluebird Home & Garden", "USD", 11342, "Sale", 45, Decimal("0.06")),
    ImpactCampaign(9510, "Kestrel Audio EU", "EUR", 12007, "Sale", 30, Decimal("0.10")),
    ImpactCampaign(10288, "Lumen Skincare", "EUR", 12155, "Online Sale", 21, Decimal("0.12")),
    ImpactCampaign(11873, "Harbour & Co. UK", "GBP", 13001, "Sale", 30, Decimal("0.07")),
    ImpactCampaign(12904, "Ridgeway Bikes", "GBP", 13118, "Online Sale", 60, Decimal("0.05")),
)
_IMPACT_NAME_JSON = {c.campaign_id: json.dumps(c.name) for c in IMPACT_CAMPAIGNS}
_IMPACT_TRACKER_JSON = {c.campaign_id: json.dumps(c.tracker_name) for c in IMPACT_CAMPAIGNS}
_REFERRING_TYPES = ("CLICK_COOKIE",) * 8 + ("CLICK_FINGERPRINT", "PROMOCODE")


@dataclass(slots=True)
class ImpactAction:
    """One impact.com action (a conversion); state and money change in place under the same Id."""

    id: str
    campaign: ImpactCampaign
    state: str
    payout: Decimal
    amount: Decimal
    intended_payout: Decimal
    intended_amount: Decimal
    referring_ts: int
    event_ts: int
    creation_ts: int
    locking_ts: int
    cleared_ts: int | None
    updated_ts: int
    oid: str
    ad_id: int
    referring_type: str
    promo_code: str
    country: tuple[str, str, str]
    sub_id1: str
    sub_id2: str
    sub_id3: str
    shared_id: str
    json_cache: str | None = None

    @property
    def cleared(self) -> bool:
        """Whether the action has been paid into the partner balance (ClearedDate set)."""
        return self.cleared_ts is not None


@dataclass(frozen=True, slots=True)
class AwinAdvertiser:
    """An Awin advertiser programme; its currency is the transactions' currency."""

    advertiser_id: int
    name: str
    currency: str
    country: str
    group_id: int
    group_code: str
    group_name: str
    rate: Decimal


AWIN_ADVERTISERS: tuple[AwinAdvertiser, ...] = (
    AwinAdvertiser(
        17874,
        "Fjord Fashion",
        "GBP",
        "GB",
        297335,
        "DEFAULT",
        "Default Commission",
        Decimal("0.07"),
    ),
    AwinAdvertiser(
        18022, "Atelier Lune", "EUR", "FR", 301442, "NEW", "New customer", Decimal("0.09")
    ),
    AwinAdvertiser(19150, "Bergwerk Sport", "EUR", "DE", 305118, "1", "Standard", Decimal("0.05")),
    AwinAdvertiser(
        20417,
        "Pinewood Electronics",
        "USD",
        "US",
        310007,
        "EXIST",
        "Existing customer",
        Decimal("0.03"),
    ),
    AwinAdvertiser(21833, "Thistle Tea Co", "GBP", "GB", 312290, "1", "Standard", Decimal("0.11")),
)
_DEVICES = ("Windows", "Macintosh", "iPhone", "Android Mobile", "iPad", "Linux")
_AWIN_DECLINE_REASONS = ("Order cancelled", "Goods returned", "Duplicate transaction", "Fraud")
_AWIN_AMEND_REASONS = ("Partial return", "Order value corrected", "Commission rate corrected")
AWIN_SITE = "https://passive-ledger.example/"


@dataclass(slots=True)
class AwinTransaction:
    """One Awin transaction; status and amounts change in place under the same id."""

    id: int
    advertiser: AwinAdvertiser
    status: str
    commission: Decimal
    sale: Decimal
    click_ts: int
    transaction_ts: int
    validation_ts: int | None
    decline_reason: str | None
    voucher_code: str | None
    amended: bool
    amend_reason: str | None
    old_sale: Decimal | None
    old_commission: Decimal | None
    paid: bool
    payment_id: int
    click_ref: str
    click_ref2: str | None
    click_device: str
    transaction_device: str
    customer_country: str
    order_ref: str
    updated_ts: int
    json_cache: dict[tuple[str, bool], str] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The transaction's currency (commission and sale share it)."""
        return self.advertiser.currency


@dataclass(frozen=True, slots=True)
class CjAdvertiser:
    """A CJ advertiser; CJ reports publisher money in USD (reference §3)."""

    advertiser_id: str
    name: str
    action_tracker_id: str
    action_tracker_name: str
    action_type: str
    rate: Decimal


CJ_ADVERTISERS: tuple[CjAdvertiser, ...] = (
    CjAdvertiser(
        "4512086", "Summit Gear Co", "381204", "Online Purchase", "item_sale", Decimal("0.065")
    ),
    CjAdvertiser(
        "4603317", "Brightline Software", "392110", "Subscription", "sim_sale", Decimal("0.20")
    ),
    CjAdvertiser("4788021", "Cascade Travel", "401877", "Booking", "sim_sale", Decimal("0.04")),
    CjAdvertiser("5011930", "Oakhurst Books", "410332", "Sale", "item_sale", Decimal("0.0575")),
)
_CJ_CORRECTION_REASONS = (
    "RETURNED_MERCHANDISE",
    "RETURNED_MERCHANDISE",
    "BOOKING_CANCELED",
    "CANT_SHIP_OR_SOLD_OUT",
)
# CJ's documentation mixes the casing of actionStatus values (reference §3, §8):
# most records are lower case, a few are served capitalised or upper case.
_CJ_CASINGS = (str.lower,) * 17 + (str.capitalize, str.capitalize, str.upper)
CJ_WEBSITE_ID = "9012345"


@dataclass(slots=True)
class CjCommission:
    """One CJ commission record; corrections are new records, status changes are in place."""

    commission_id: int
    action_id: str
    original_action_id: str
    order_id: str
    advertiser: CjAdvertiser
    status: str
    casing: int
    posting_ts: int
    event_ts: int
    click_ts: int
    locking_ts: int
    commission: Decimal
    sale: Decimal
    original: bool
    correction_reason: str | None
    sku: str
    quantity: int
    coupon: str | None
    country: str
    shopper_id: str | None
    restated: bool = False

    @property
    def status_text(self) -> str:
        """actionStatus as served, in this record's casing."""
        return _CJ_CASINGS[self.casing](self.status)


@dataclass
class PhaseChanges:
    """What one advance() changed, by network and id (for tests and the admin endpoint)."""

    phase: int
    impact_changed: list[str] = field(default_factory=list)
    impact_new: list[str] = field(default_factory=list)
    awin_changed: list[int] = field(default_factory=list)
    awin_new: list[int] = field(default_factory=list)
    cj_status_changed: list[str] = field(default_factory=list)
    cj_new: list[str] = field(default_factory=list)
    cj_restated_actions: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Number of ids in each change list."""
        return {
            "impact_changed": len(self.impact_changed),
            "impact_new": len(self.impact_new),
            "awin_changed": len(self.awin_changed),
            "awin_new": len(self.awin_new),
            "cj_status_changed": len(self.cj_status_changed),
            "cj_new": len(self.cj_new),
            "cj_restated_actions": len(self.cj_restated_actions),
        }


# ---------------------------------------------------------------------------------------------
# Rendering helpers


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def impact_ts(ts: int) -> str:
    """Impact timestamp: ISO 8601 with the account's offset (reference §2)."""
    return datetime.fromtimestamp(ts, IMPACT_TZ).isoformat()


def cj_ts(ts: int) -> str:
    """CJ `Instant`: UTC with a `Z` suffix (reference §3)."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat() + "Z"


def awin_ts(ts: int, tz: str = "UTC") -> str:
    """Awin timestamp: naive, rendered in the requested timezone (reference §4)."""
    zone = UTC if tz == "UTC" else ZoneInfo(tz)
    return datetime.fromtimestamp(ts, zone).replace(tzinfo=None).isoformat()


_DECIMAL_MARK = "\u0000DEC"
_DECIMAL_RE = re.compile(r'"\\u0000DEC(-?[0-9]+(?:\.[0-9]+)?)"')


AWIN_PAYMENT_CURRENCIES = ("GBP", "EUR", "USD")


def awin_payment_day(validation_ts: int) -> date:
    """Awin's payment run for a validation: days 1-15 are paid on the 1st of the next month,
    16-31 on the 15th (affiliate-formats.md §10.2)."""
    validated = datetime.fromtimestamp(validation_ts, UTC).date()
    first = (validated.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first if validated.day <= 15 else first.replace(day=15)


def awin_payment_id(validation_ts: int, currency: str) -> int:
    """One payment per payment run and currency (Awin pays each currency separately)."""
    day = awin_payment_day(validation_ts)
    run = (day.year * 12 + day.month - 1) * 2 + (day.day == 15)
    return 5_100_000 + run * 10 + AWIN_PAYMENT_CURRENCIES.index(currency)


def _decimal_marker(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps_decimal_numbers(obj: object) -> str:
    """json.dumps that writes Decimal values as JSON numbers with their exact digits.

    Awin money is a JSON number (reference §4); going through float would round it.
    """
    text = json.dumps(obj, default=_decimal_marker, separators=(",", ":"))
    return _DECIMAL_RE.sub(r"\1", text)


def render_impact_action(action: ImpactAction) -> str:
    """The action as impact.com JSON (field set per reference §2), cached until it changes."""
    if action.json_cache is not None:
        return action.json_cache
    c = action.campaign
    area, region, city = action.country[1], action.country[1], action.country[2]
    cleared = impact_ts(action.cleared_ts) if action.cleared_ts is not None else ""
    # Hand-built: every value is generated ASCII without quotes or backslashes (names are
    # pre-escaped), and this path renders 100k actions per phase.
    text = (
        f'{{"Id":"{action.id}","CampaignId":"{c.campaign_id}","CampaignName":'
        f"{_IMPACT_NAME_JSON[c.campaign_id]},"
        f'"ActionTrackerId":"{c.tracker_id}","ActionTrackerName":'
        f"{_IMPACT_TRACKER_JSON[c.campaign_id]},"
        f'"EventCode":"","State":"{action.state}","AdId":"{action.ad_id}",'
        f'"Payout":"{action.payout}","DeltaPayout":"{action.payout - action.intended_payout}",'
        f'"IntendedPayout":"{action.intended_payout}","Amount":"{action.amount}",'
        f'"DeltaAmount":"{action.amount - action.intended_amount}",'
        f'"IntendedAmount":"{action.intended_amount}","Currency":"{c.currency}",'
        f'"ReferringDate":"{impact_ts(action.referring_ts)}",'
        f'"EventDate":"{impact_ts(action.event_ts)}",'
        f'"CreationDate":"{impact_ts(action.creation_ts)}",'
        f'"LockingDate":"{impact_ts(action.locking_ts)}","ClearedDate":"{cleared}",'
        f'"ReferringType":"{action.referring_type}","ReferringDomain":"passive-ledger.example",'
        f'"PromoCode":"{action.promo_code}","Oid":"{action.oid}",'
        f'"CustomerArea":"{area}","CustomerCity":"{city}","CustomerRegion":"{region}",'
        f'"CustomerCountry":"{action.country[0]}","SharedId":"{action.shared_id}",'
        f'"SubId1":"{action.sub_id1}","SubId2":"{action.sub_id2}","SubId3":"{action.sub_id3}",'
        f'"Uri":"/Mediapartners/{IMPACT_SID}/Actions/{action.id}"}}'
    )
    action.json_cache = text
    return text


def _awin_amount(value: Decimal | None, currency: str) -> dict[str, Any] | None:
    return None if value is None else {"amount": value, "currency": currency}


def awin_transaction_dict(
    txn: AwinTransaction, tz: str = "UTC", basket: bool = False
) -> dict[str, Any]:
    """The transaction as Awin's JSON object (reference §4 example); money stays Decimal."""
    adv = txn.advertiser
    click_refs: dict[str, str] = {"clickRef": txn.click_ref}
    if txn.click_ref2 is not None:
        click_refs["clickRef2"] = txn.click_ref2
    out: dict[str, Any] = {
        "id": txn.id,
        "url": AWIN_SITE,
        "advertiserId": adv.advertiser_id,
        "publisherId": AWIN_PUBLISHER_ID,
        "commissionSharingPublisherId": None,
        "commissionSharingSelectedRatePublisherId": None,
        "campaign": None,
        "siteName": AWIN_SITE,
        "commissionStatus": txn.status,
        "commissionAmount": {"amount": txn.commission, "currency": adv.currency},
        "saleAmount": {"amount": txn.sale, "currency": adv.currency},
        "ipHash": str(-(txn.id * 7919) % 9_000_000_000_000_000_000),
        "customerCountry": txn.customer_country,
        "clickRefs": click_refs,
        "clickDate": awin_ts(txn.click_ts, tz),
        "transactionDate": awin_ts(txn.transaction_ts, tz),
        "validationDate": None if txn.validation_ts is None else awin_ts(txn.validation_ts, tz),
        "type": "Commission group transaction",
        "declineReason": txn.decline_reason,
        "voucherCodeUsed": txn.voucher_code is not None,
        "voucherCode": txn.voucher_code,
        "lapseTime": txn.transaction_ts - txn.click_ts,
        "amended": txn.amended,
        "amendReason": txn.amend_reason,
        # The reference only shows these as null; we assume the {amount, currency} shape of
        # commissionAmount/saleAmount when set [unverified, reference §4].
        "oldSaleAmount": _awin_amount(txn.old_sale, adv.currency),
        "oldCommissionAmount": _awin_amount(txn.old_commission, adv.currency),
        "clickDevice": txn.click_device,
        "transactionDevice": txn.transaction_device,
        "customerAcquisition": None,
        "publisherUrl": AWIN_SITE,
        "advertiserCountry": adv.country,
        "orderRef": txn.order_ref,
        "customParameters": None,
        "transactionParts": [
            {
                "commissionGroupId": adv.group_id,
                "amount": txn.sale,
                "commissionAmount": txn.commission,
                "advertiserCost": None,
                "commissionGroupCode": adv.group_code,
                "commissionGroupName": adv.group_name,
                "trackedParts": [
                    {"code": adv.group_code, "amount": txn.sale, "currency": adv.currency}
                ],
            }
        ],
        "paidToPublisher": txn.paid,
        "paymentId": txn.payment_id,
        "transactionQueryId": 0,
        "originalSaleAmount": None,
    }
    if basket:
        out["basketProducts"] = [
            {
                "productId": f"P{txn.id % 100000:05d}",
                "productName": f"{adv.name} item",
                "unitPrice": txn.sale,
                "quantity": 1,
                "skuCode": f"SKU-{txn.id % 9973}",
                "commissionGroupCode": adv.group_code,
                "category": "General",
            }
        ]
    return out


def render_awin_transaction(txn: AwinTransaction, tz: str = "UTC", basket: bool = False) -> str:
    """The transaction as Awin JSON text with money as exact JSON numbers, cached per tz."""
    key = (tz, basket)
    cached = txn.json_cache.get(key)
    if cached is None:
        cached = dumps_decimal_numbers(awin_transaction_dict(txn, tz, basket))
        txn.json_cache[key] = cached
    return cached


def cj_commission_dict(rec: CjCommission) -> dict[str, Any]:
    """The record with every PublisherCommission field we emulate (reference §3)."""
    adv = rec.advertiser
    commission = f"{rec.commission}"
    sale = f"{rec.sale}"
    per_item = rec.sale / rec.quantity if rec.quantity else rec.sale
    return {
        "commissionId": str(rec.commission_id),
        "actionStatus": rec.status_text,
        "actionType": adv.action_type,
        "actionTrackerId": adv.action_tracker_id,
        "actionTrackerName": adv.action_tracker_name,
        "advertiserId": adv.advertiser_id,
        "advertiserName": adv.name,
        "publisherId": CJ_PUBLISHER_ID,
        "publisherName": "Passive Ledger Demo",
        "websiteId": CJ_WEBSITE_ID,
        "websiteName": "passive-ledger.example",
        "aid": "13579246",
        "postingDate": cj_ts(rec.posting_ts),
        "eventDate": cj_ts(rec.event_ts),
        "lockingDate": cj_ts(rec.locking_ts),
        "clickDate": cj_ts(rec.click_ts),
        "lockingMethod": "FIXED_DATE",
        "validationStatus": "AUTOMATED",
        "reviewedStatus": None,
        "original": rec.original,
        "originalActionId": rec.original_action_id,
        "correctionReason": rec.correction_reason,
        "pubCommissionAmountUsd": commission,
        "pubCommissionAmountPubCurrency": commission,
        "saleAmountUsd": sale,
        "saleAmountPubCurrency": sale,
        "orderDiscountUsd": "0",
        "orderDiscountPubCurrency": "0",
        "orderDiscountAdvCurrency": "0",
        "orderDiscountOrigCurrency": "0",
        "orderId": rec.order_id,
        "coupon": rec.coupon,
        "country": rec.country,
        "clickReferringURL": "https://passive-ledger.example/reviews",
        "source": "API",
        "siteToStoreOffer": False,
        "isCrossDevice": False,
        "shopperId": rec.shopper_id,
        "items": [
            {
                "commissionItemId": f"{rec.commission_id}1",
                "sku": rec.sku,
                "quantity": rec.quantity,
                "perItemSaleAmountUsd": f"{per_item.quantize(MILL)}",
                "perItemSaleAmountPubCurrency": f"{per_item.quantize(MILL)}",
                "perItemSaleAmountAdvCurrency": f"{per_item.quantize(MILL)}",
                "totalCommissionUsd": commission,
                "totalCommissionPubCurrency": commission,
                "totalCommissionAdvCurrency": commission,
                "itemListId": None,
            }
        ],
    }


# ---------------------------------------------------------------------------------------------
# Ledger mapping used for expected totals (the same mapping the pipeline applies)

_IMPACT_STATUS = {"PENDING": "pending", "APPROVED": "approved", "REVERSED": "reversed"}
_AWIN_STATUS = {
    "pending": "pending",
    "approved": "approved",
    "declined": "reversed",
    "deleted": "reversed",
}
_CJ_STATUS = {"new": "pending", "extended": "pending", "locked": "approved", "closed": "paid"}


def impact_ledger_status(action: ImpactAction) -> str:
    """Ledger status of an Impact action: APPROVED with ClearedDate counts as paid."""
    status = _IMPACT_STATUS[action.state]
    return "paid" if status == "approved" and action.cleared else status


def impact_ledger_amounts(action: ImpactAction) -> tuple[Decimal, Decimal]:
    """(sale, commission) in the ledger: a reversed action keeps its intended amounts."""
    if action.state == "REVERSED":
        return action.intended_amount, action.intended_payout
    return action.amount, action.payout


def awin_ledger_status(txn: AwinTransaction) -> str:
    """Ledger status of an Awin transaction: approved and paidToPublisher counts as paid."""
    status = _AWIN_STATUS[txn.status]
    return "paid" if status == "approved" and txn.paid else status


def cj_ledger_status(rec: CjCommission) -> str:
    """Ledger status of a CJ record (actionStatus compared case-insensitively)."""
    return _CJ_STATUS[rec.status.lower()]


def _accumulate(rows: Iterable[tuple[str, str, Decimal, Decimal]]) -> Totals:
    totals: dict[TotalsKey, list[Any]] = {}
    for currency, status, sale, commission in rows:
        slot = totals.setdefault((currency, status), [Decimal(0), Decimal(0), 0])
        slot[0] += sale
        slot[1] += commission
        slot[2] += 1
    return {key: (v[0], v[1], v[2]) for key, v in sorted(totals.items())}


# ---------------------------------------------------------------------------------------------
# The dataset


def _money(rng: random.Random, low_cents: int, high_cents: int) -> Decimal:
    return (Decimal(rng.randint(low_cents, high_cents)) / 100).quantize(CENT)


class Dataset:
    """Seeded in-memory records for Impact, Awin and CJ, advanced one phase at a time.

    Records fall on the days `start`..`end` (inclusive, UTC); phase 0 is the state as of
    `end + 1 day` 00:00 UTC, and every `advance()` moves that clock on by `PHASE_STEP`.
    By default `end` is the day before yesterday, so phases 0..24 are all in the past.
    The same seed and arguments always give the same records in every phase.
    """

    def __init__(
        self,
        seed: int,
        impact_actions: int = 3000,
        awin_transactions: int = 2000,
        cj_commissions: int = 2000,
        start: date | None = None,
        end: date | None = None,
    ) -> None:
        if end is None:
            # Recent data ending the day before yesterday: phase 0 is then yesterday's
            # midnight, so the first 24 phases are in the past at any hour of today and a pull
            # "up to now" sees them. Ending yesterday put phase 1 at today's 01:00, in the
            # future for a pull made between 00:00 and 01:00 UTC (issue 10 §5).
            end = datetime.now(UTC).date() - timedelta(days=DEFAULT_END_DAYS_AGO)
        if start is None:
            start = end - timedelta(days=89)
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        self.seed = seed
        self.start = start
        self.end = end
        self.sizes = (impact_actions, awin_transactions, cj_commissions)
        self._generate()

    # -- generation ----------------------------------------------------------------------------

    def _generate(self) -> None:
        self.phase = 0
        self.version = 0
        self._t_start = _epoch(
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        )
        end_next = self.end + timedelta(days=1)
        self._t0 = _epoch(datetime(end_next.year, end_next.month, end_next.day, tzinfo=UTC))
        self.impact: list[ImpactAction] = []
        self.awin: list[AwinTransaction] = []
        self.cj: list[CjCommission] = []
        self._impact_serial = 158_133
        self._awin_next_id = 920_699_395
        self._cj_next_id = 2_684_500_001
        self._cj_action_serial = 771_000_001
        n_impact, n_awin, n_cj = self.sizes
        self._gen_impact(random.Random(f"{self.seed}:impact"), n_impact)
        self._gen_awin(random.Random(f"{self.seed}:awin"), n_awin)
        self._gen_cj(random.Random(f"{self.seed}:cj"), n_cj)
        self._reindex()

    def _reindex(self) -> None:
        self._impact_by_id = {a.id: a for a in self.impact}
        self._awin_by_id = {t.id: t for t in self.awin}
        self._cj_by_id = {r.commission_id: r for r in self.cj}

    def phase_time(self, phase: int | None = None) -> datetime:
        """The dataset clock at the end of `phase` (default: the current phase)."""
        p = self.phase if phase is None else phase
        return datetime.fromtimestamp(self._t0, UTC) + PHASE_STEP * p

    @property
    def now_ts(self) -> int:
        """The current phase's clock as a Unix timestamp."""
        return _epoch(self.phase_time())

    def _new_impact_action(self, rng: random.Random, event_ts: int) -> ImpactAction:
        camp = IMPACT_CAMPAIGNS[int(rng.random() * len(IMPACT_CAMPAIGNS))]
        amount = _money(rng, 999, 48_000)
        payout = (amount * camp.rate).quantize(CENT)
        creation_ts = event_ts + 60 + int(rng.random() * 7200)
        self._impact_serial += 1 + int(rng.random() * 3)
        promo = rng.random() < 0.1
        serial = self._impact_serial
        countries = _COUNTRIES[camp.currency]
        return ImpactAction(
            id=f"{1000 + camp.campaign_id % 7}.{camp.campaign_id}.{serial}",
            campaign=camp,
            state="PENDING",
            payout=payout,
            amount=amount,
            intended_payout=payout,
            intended_amount=amount,
            referring_ts=event_ts - 30 - int(rng.random() * 86400 * 3),
            event_ts=event_ts,
            creation_ts=creation_ts,
            locking_ts=event_ts + camp.lock_days * 86400,
            cleared_ts=None,
            updated_ts=creation_ts,
            oid=f"ORD-{serial * 37 % 10_000_000:07d}",
            ad_id=900_000 + camp.campaign_id % 1000,
            referring_type="PROMOCODE" if promo else _REFERRING_TYPES[int(rng.random() * 9)],
            promo_code="SAVE10" if promo else "",
            country=countries[int(rng.random() * len(countries))],
            sub_id1=("review", "newsletter", "deals", "")[int(rng.random() * 4)],
            sub_id2=f"post-{int(rng.random() * 40)}",
            sub_id3="",
            shared_id="",
        )

    def _gen_impact(self, rng: random.Random, n: int) -> None:
        t0, span = self._t0, self._t0 - self._t_start
        events = sorted(self._t_start + int(rng.random() * (span - 3 * 3600)) for _ in range(n))
        for event_ts in events:
            a = self._new_impact_action(rng, event_ts)
            r = rng.random()
            if a.locking_ts < t0:
                if r < 0.12:
                    self._impact_reverse(
                        a, a.creation_ts + int(rng.random() * (a.locking_ts - a.creation_ts))
                    )
                else:
                    a.state = "APPROVED"
                    a.updated_ts = a.locking_ts + 3600
                    cleared = a.locking_ts + 86400 * (12 + int(rng.random() * 10))
                    if cleared < t0:
                        a.cleared_ts = cleared
                        a.updated_ts = cleared
            elif r < 0.07:
                window = max(1, min(a.locking_ts, t0) - a.creation_ts)
                self._impact_reverse(a, a.creation_ts + int(rng.random() * window))
            elif r < 0.10:
                window = max(1, min(a.locking_ts, t0) - a.creation_ts)
                self._impact_modify(rng, a, a.creation_ts + int(rng.random() * window))
            a.updated_ts = min(a.updated_ts, t0 - 1)
            self.impact.append(a)
        # The API lists actions by creation date, newest first (reference §2); keep that order.
        self.impact.sort(key=lambda a: a.creation_ts, reverse=True)

    @staticmethod
    def _impact_reverse(a: ImpactAction, when: int) -> None:
        # A reversal zeroes the money; DeltaPayout/DeltaAmount carry the (negative) change.
        a.state = "REVERSED"
        a.payout = ZERO
        a.amount = ZERO
        a.updated_ts = when
        a.json_cache = None

    @staticmethod
    def _impact_modify(rng: random.Random, a: ImpactAction, when: int) -> None:
        # "Modified actions also have this state" (reference §2): a partial return keeps PENDING.
        share = Decimal(40 + int(rng.random() * 50)) / 100
        a.amount = (a.intended_amount * share).quantize(CENT)
        a.payout = (a.intended_payout * share).quantize(CENT)
        a.updated_ts = when
        a.json_cache = None

    def _new_awin(self, rng: random.Random, txn_ts: int) -> AwinTransaction:
        adv = AWIN_ADVERTISERS[int(rng.random() * len(AWIN_ADVERTISERS))]
        sale = _money(rng, 1_500, 120_000)
        self._awin_next_id += 1 + int(rng.random() * 40)
        tid = self._awin_next_id
        click_ts = txn_ts - 60 - int(rng.random() * 86400 * 2)
        return AwinTransaction(
            id=tid,
            advertiser=adv,
            status="pending",
            commission=(sale * adv.rate).quantize(CENT),
            sale=sale,
            click_ts=click_ts,
            transaction_ts=txn_ts,
            validation_ts=None,
            decline_reason=None,
            voucher_code="WELCOME15" if rng.random() < 0.08 else None,
            amended=False,
            amend_reason=None,
            old_sale=None,
            old_commission=None,
            paid=False,
            payment_id=0,
            click_ref=f"{tid * 2654435761 % (1 << 64):016x}"[:24],
            click_ref2=("newsletter" if rng.random() < 0.2 else None),
            click_device=_DEVICES[int(rng.random() * len(_DEVICES))],
            transaction_device=_DEVICES[int(rng.random() * len(_DEVICES))],
            customer_country=adv.country,
            order_ref=f"AW{tid % 10_000_000:07d}",
            updated_ts=txn_ts,
        )

    def _gen_awin(self, rng: random.Random, n: int) -> None:
        t0, span = self._t0, self._t0 - self._t_start
        for txn_ts in sorted(self._t_start + int(rng.random() * (span - 3600)) for _ in range(n)):
            t = self._new_awin(rng, txn_ts)
            age_days = (t0 - txn_ts) / 86400
            r = rng.random()
            if age_days > 30 and r < 0.85:
                validated = min(txn_ts + 86400 * (7 + int(rng.random() * 23)), t0 - 60)
                self._awin_validate(rng, t, "approved" if r < 0.75 else "declined", validated)
                if t.status == "approved" and (t0 - validated) > 20 * 86400 and rng.random() < 0.7:
                    t.paid = True
                    t.payment_id = awin_payment_id(validated, t.currency)
            elif age_days > 30 and r < 0.86:
                t.status = "deleted"
            elif r < 0.04:
                self._awin_amend(rng, t, txn_ts + int(rng.random() * (t0 - txn_ts)))
            self.awin.append(t)

    @staticmethod
    def _awin_validate(rng: random.Random, t: AwinTransaction, status: str, when: int) -> None:
        t.status = status
        t.validation_ts = when
        t.updated_ts = when
        if status == "declined":
            t.decline_reason = _AWIN_DECLINE_REASONS[int(rng.random() * len(_AWIN_DECLINE_REASONS))]
        t.json_cache.clear()

    @staticmethod
    def _awin_amend(rng: random.Random, t: AwinTransaction, when: int) -> None:
        # An amendment keeps the same id and records the old amounts (reference §4).
        share = Decimal(50 + int(rng.random() * 45)) / 100
        t.amended = True
        t.amend_reason = _AWIN_AMEND_REASONS[int(rng.random() * len(_AWIN_AMEND_REASONS))]
        t.old_sale = t.sale
        t.old_commission = t.commission
        t.sale = (t.sale * share).quantize(CENT)
        t.commission = (t.commission * share).quantize(CENT)
        t.updated_ts = when
        t.json_cache.clear()

    @staticmethod
    def _cj_locking_ts(event_ts: int) -> int:
        # CJ locks on the 11th of the following month at 2am PST = 10:00 UTC (reference §3).
        d = datetime.fromtimestamp(event_ts, UTC)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return _epoch(datetime(year, month, 11, 10, tzinfo=UTC))

    def _new_cj(self, rng: random.Random, posting_ts: int) -> CjCommission:
        adv = CJ_ADVERTISERS[int(rng.random() * len(CJ_ADVERTISERS))]
        sale = _money(rng, 1_000, 60_000)
        # CJ DecimalNumber money often carries 3 decimals, e.g. "7.781" (reference §3).
        commission = (sale * adv.rate).quantize(MILL if rng.random() < 0.6 else CENT)
        event_ts = posting_ts - 60 - int(rng.random() * 86400)
        self._cj_next_id += 1 + int(rng.random() * 5)
        self._cj_action_serial += 1
        action_id = str(self._cj_action_serial)
        r = rng.random()
        casing = int(rng.random() * len(_CJ_CASINGS))
        return CjCommission(
            commission_id=self._cj_next_id,
            action_id=action_id,
            original_action_id=action_id,
            order_id=f"CJ-{self._cj_action_serial * 7 % 100_000_000:08d}",
            advertiser=adv,
            status="new",
            casing=casing,
            posting_ts=posting_ts,
            event_ts=event_ts,
            click_ts=event_ts - 30 - int(rng.random() * 86400 * 5),
            locking_ts=self._cj_locking_ts(event_ts),
            commission=commission,
            sale=sale,
            original=True,
            correction_reason=None,
            sku=f"SKU-{int(r * 50_000):05d}",
            quantity=1 + int(rng.random() * 3),
            coupon="SPRING" if r < 0.05 else None,
            country="US" if r < 0.8 else "CA",
            shopper_id=("review", "newsletter", None)[int(rng.random() * 3)],
        )

    def _cj_restate(self, rng: random.Random, orig: CjCommission, when: int) -> list[CjCommission]:
        """A restatement: two new records, a full reversal and the corrected state (§3)."""
        reason = _CJ_CORRECTION_REASONS[int(rng.random() * len(_CJ_CORRECTION_REASONS))]
        share = Decimal(30 + int(rng.random() * 60)) / 100
        new_sale = (orig.sale * share).quantize(CENT)
        new_commission = (orig.commission * share).quantize(MILL)
        orig.restated = True
        out: list[CjCommission] = []
        for sale, commission in ((-orig.sale, -orig.commission), (new_sale, new_commission)):
            self._cj_next_id += 1
            self._cj_action_serial += 1
            out.append(
                CjCommission(
                    commission_id=self._cj_next_id,
                    action_id=str(self._cj_action_serial),
                    original_action_id=orig.original_action_id,
                    order_id=orig.order_id,
                    advertiser=orig.advertiser,
                    status="new",
                    casing=orig.casing,
                    posting_ts=when,
                    event_ts=orig.event_ts,
                    click_ts=orig.click_ts,
                    locking_ts=self._cj_locking_ts(when),
                    commission=commission,
                    sale=sale,
                    original=False,
                    correction_reason=reason,
                    sku=orig.sku,
                    quantity=orig.quantity,
                    coupon=orig.coupon,
                    country=orig.country,
                    shopper_id=orig.shopper_id,
                )
            )
        return out

    def _gen_cj(self, rng: random.Random, n: int) -> None:
        t0, span = self._t0, self._t0 - self._t_start
        restatements: list[tuple[int, CjCommission]] = []
        for posting_ts in sorted(
            self._t_start + int(rng.random() * (span - 7200)) for _ in range(n)
        ):
            rec = self._new_cj(rng, posting_ts)
            self.cj.append(rec)
        for rec in self.cj:
            if rec.locking_ts < t0:
                # Paid out roughly a month after locking: closed = "prepared for payment".
                rec.status = "closed" if rec.locking_ts + 25 * 86400 < t0 else "locked"
            elif rng.random() < 0.08:
                rec.status = "extended"
                rec.locking_ts += 30 * 86400
            if rng.random() < 0.04 and rec.posting_ts + 86400 < t0:
                when = rec.posting_ts + 86400 + int(rng.random() * (t0 - rec.posting_ts - 86400))
                restatements.append((when, rec))
        restatements.sort(key=lambda p: p[0])
        # Corrections get later commission ids than everything posted before them.
        for when, orig in restatements:
            for new in self._cj_restate(rng, orig, when):
                if new.locking_ts < t0:
                    new.status = "locked"
                self.cj.append(new)
        self.cj.sort(key=lambda r: r.commission_id)

    # -- phases ----------------------------------------------------------------------------

    def advance(self) -> PhaseChanges:
        """Next phase: statuses move on; amendments, restatements and new records appear."""
        self.phase += 1
        self.version += 1
        changes = PhaseChanges(phase=self.phase)
        lo = _epoch(self.phase_time(self.phase - 1))
        step = int(PHASE_STEP.total_seconds())

        def stamp(rng: random.Random) -> int:
            return lo + 1 + int(rng.random() * (step - 1))

        rng = random.Random(f"{self.seed}:impact:phase{self.phase}")
        for a in self.impact:
            if a.state == "PENDING":
                r = rng.random()
                if r < 0.25:
                    a.state = "APPROVED"
                elif r < 0.30:
                    self._impact_reverse(a, 0)
                elif r < 0.32:
                    self._impact_modify(rng, a, 0)
                else:
                    continue
            elif a.state == "APPROVED" and not a.cleared and rng.random() < 0.3:
                a.cleared_ts = stamp(rng)
            else:
                continue
            a.updated_ts = stamp(rng)
            a.json_cache = None
            changes.impact_changed.append(a.id)
        fresh: list[ImpactAction] = []
        for _ in range(max(1, len(self.impact) // 100)):
            # A new action appears in this phase: created (and last updated) inside it.
            created = stamp(rng)
            a = self._new_impact_action(rng, created - 3600 - int(rng.random() * 7200))
            a.creation_ts = a.updated_ts = created
            fresh.append(a)
        fresh.sort(key=lambda a: a.creation_ts, reverse=True)
        self.impact[:0] = fresh
        changes.impact_new = [a.id for a in fresh]

        rng = random.Random(f"{self.seed}:awin:phase{self.phase}")
        for t in self.awin:
            r = rng.random()
            if t.status == "pending":
                if r < 0.25:
                    self._awin_validate(rng, t, "approved", stamp(rng))
                elif r < 0.30:
                    self._awin_validate(rng, t, "declined", stamp(rng))
                elif r < 0.33 and not t.amended:
                    self._awin_amend(rng, t, stamp(rng))
                else:
                    continue
            elif t.status == "approved" and not t.paid and r < 0.2:
                t.paid = True
                assert t.validation_ts is not None  # approved lines were validated
                t.payment_id = awin_payment_id(t.validation_ts, t.currency)
                t.updated_ts = stamp(rng)
                t.json_cache.clear()
            else:
                continue
            changes.awin_changed.append(t.id)
        new_awin = sorted(
            (self._new_awin(rng, stamp(rng)) for _ in range(max(1, len(self.awin) // 100))),
            key=lambda t: t.id,
        )
        self.awin.extend(new_awin)
        changes.awin_new = [t.id for t in new_awin]

        rng = random.Random(f"{self.seed}:cj:phase{self.phase}")
        additions: list[CjCommission] = []
        for rec in self.cj:
            r = rng.random()
            if rec.status in ("new", "extended") and r < 0.3:
                rec.status = "locked"
            elif rec.status == "new" and r < 0.35:
                rec.status = "extended"
                rec.locking_ts += 30 * 86400
            elif rec.status == "locked" and r < 0.3:
                rec.status = "closed"
            else:
                if rec.original and not rec.restated and rec.status == "new" and r > 0.98:
                    additions.extend(self._cj_restate(rng, rec, stamp(rng)))
                    changes.cj_restated_actions.append(rec.original_action_id)
                continue
            changes.cj_status_changed.append(str(rec.commission_id))
        for _ in range(max(1, len(self.cj) // 100)):
            additions.append(self._new_cj(rng, stamp(rng)))
        additions.sort(key=lambda r: r.commission_id)
        self.cj.extend(additions)
        self.cj.sort(key=lambda r: r.commission_id)
        changes.cj_new = [str(r.commission_id) for r in additions]
        self._reindex()
        return changes

    def warm(self) -> None:
        """Pre-render every Impact action's JSON so the first full pull pays no rendering."""
        for action in self.impact:
            render_impact_action(action)

    def reset(self) -> None:
        """Regenerate phase 0 from the seed."""
        self._generate()

    # -- lookups ----------------------------------------------------------------------------

    def impact_action(self, action_id: str) -> ImpactAction:
        """The Impact action with this Id (current phase)."""
        return self._impact_by_id[action_id]

    def impact_action_json(self, action_id: str) -> dict[str, Any]:
        """The Impact action as the API serves it, parsed."""
        parsed: dict[str, Any] = json.loads(render_impact_action(self._impact_by_id[action_id]))
        return parsed

    def awin_transaction(self, transaction_id: int) -> AwinTransaction:
        """The Awin transaction with this id (current phase)."""
        return self._awin_by_id[transaction_id]

    def awin_transaction_json(self, transaction_id: int, tz: str = "UTC") -> dict[str, Any]:
        """The Awin transaction as the API serves it, parsed with exact Decimal money."""
        text = render_awin_transaction(self._awin_by_id[transaction_id], tz)
        parsed: dict[str, Any] = json.loads(text, parse_float=Decimal)
        return parsed

    def cj_commission(self, commission_id: str | int) -> CjCommission:
        """The CJ record with this commissionId."""
        return self._cj_by_id[int(commission_id)]

    def cj_records_for_action(self, original_action_id: str) -> list[CjCommission]:
        """Every CJ record for one order: the original plus any restatement records."""
        return [r for r in self.cj if r.original_action_id == original_action_id]

    def cj_restated_action_ids(self) -> list[str]:
        """originalActionIds that have at least one restatement pair."""
        return sorted({r.original_action_id for r in self.cj if not r.original})

    def records(self, network: Network | str) -> Iterator[object]:
        """The current records of one network."""
        if network == "impact":
            yield from self.impact
        elif network == "awin":
            yield from self.awin
        elif network == "cj":
            yield from self.cj
        else:
            raise ValueError(f"unknown network {network!r}")

    # -- totals ----------------------------------------------------------------------------

    def expected_totals(self, network: Network | str) -> Totals:
        """Ledger totals per (currency, status) for the current phase: (sale, commission, lines)."""
        if network == "impact":
            return _accumulate(
                (a.campaign.currency, impact_ledger_status(a), *impact_ledger_amounts(a))
                for a in self.impact
            )
        if network == "awin":
            return _accumulate(
                (t.currency, awin_ledger_status(t), t.sale, t.commission) for t in self.awin
            )
        if network == "cj":
            return _accumulate(("USD", cj_ledger_status(r), r.sale, r.commission) for r in self.cj)
        raise ValueError(f"unknown network {network!r}")

    def expected_totals_json(self, network: Network | str) -> list[dict[str, Any]]:
        """expected_totals with money as exact decimal strings, for the admin endpoint."""
        return [
            {
                "currency": currency,
                "status": status,
                "sale": str(sale),
                "commission": str(commission),
                "lines": lines,
            }
            for (currency, status), (sale, commission, lines) in self.expected_totals(
                network
            ).items()
        ]
