"""The Creators API sandbox's reports: several months and stores, gzip/zip/plain, re-issuable."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import random
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from connectors.amazon import MARKETPLACES
from sandbox.amazon_reports import ReportTotals, format_amount, write_earnings_report

Kind = Literal["earnings", "orders", "tracking"]
Packing = Literal["plain", "gzip", "zip"]

SANDBOX_AMAZON_CLIENT_ID = "sandbox-amazon-client-id"
SANDBOX_AMAZON_CLIENT_SECRET = "sandbox-amazon-client-secret"  # loopback test data, not a secret
OCT, NOV, DEC = date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)
_ZIP_TIME = (2026, 1, 2, 3, 4, 6)


@dataclass(frozen=True)
class _Plan:
    store: str
    filename: str
    kind: Kind
    month: date
    packing: Packing
    fmt: Literal["csv", "tsv"] = "csv"
    title: bool = True
    lines: int = 80


# Two stores under one credential; every packing, a title-less report whose period is in its
# file name, and two non-earnings types that must never reach `commissions`.
PLANS: tuple[_Plan, ...] = (
    _Plan("US", "passive-20-earnings-2025-10.csv", "earnings", OCT, "plain", lines=90),
    _Plan("US", "passive-20-earnings-2025-11.tsv.gz", "earnings", NOV, "gzip", fmt="tsv"),
    _Plan(
        "US",
        "passive-20-earnings-report-20251201-20251231.csv.gz",
        "earnings",
        DEC,
        "gzip",
        title=False,
        lines=70,
    ),
    _Plan("US", "passive-20-orders-2025-12.csv", "orders", DEC, "plain"),
    _Plan("US", "passive-20-tracking-2025-12.csv.gz", "tracking", DEC, "gzip"),
    _Plan("UK", "passive-21-earnings-2025-11.csv.gz", "earnings", NOV, "gzip", lines=60),
    _Plan("UK", "passive-21-earnings-2025-12.zip", "earnings", DEC, "zip", lines=75),
    _Plan("UK", "passive-21-orders-2025-12.csv.gz", "orders", DEC, "gzip", title=False),
)
REISSUE_DEFAULT = ("US", "passive-20-earnings-2025-11.tsv.gz")


@dataclass
class ApiReport:
    """One file listReports offers: its bytes as served and what its earnings add up to."""

    store: str
    filename: str
    kind: Kind
    data: bytes
    last_modified: datetime
    totals: ReportTotals | None = None
    reissued: int = 0

    @property
    def md5(self) -> str:
        """Hex md5 of the bytes served."""
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()

    @property
    def size(self) -> int:
        """Bytes served."""
        return len(self.data)

    def listing(self) -> dict[str, object]:
        """The listReports entry."""
        return {
            "filename": self.filename,
            "md5": self.md5,
            "size": self.size,
            "lastModified": self.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _title(kind: str, start: date, end: date, store: str) -> str:
    from sandbox.amazon_reports import format_title_date

    market = MARKETPLACES[store]
    return (
        f"Fee-{kind} reports from {format_title_date(start, market)}"
        f" to {format_title_date(end, market)}\n"
    )


def _orders_text(plan: _Plan, seed: int) -> str:
    """A Fee-Orders report (section 1.3): ordered, not earned; money-shaped on purpose."""
    market = MARKETPLACES[plan.store]
    rng = random.Random(seed)
    price = "Price($)" if plan.store in ("US", "CA") else "Price"
    header = ["Category", "Name", "ASIN", "Date", "Qty", price, "Link Type", "Tag"]
    header += ["Indirect Sales" if plan.store == "US" else "Orders through product links"]
    header += ["Device Type Group"]
    out = io.StringIO()
    if plan.title:
        out.write(_title("Orders", plan.month, _month_end(plan.month), plan.store))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for index in range(plan.lines):
        day = plan.month + timedelta(days=index % 28)
        minor = rng.choice((999, 1999, 4999, 12999))
        writer.writerow(
            [
                "Electronics",
                f"Ordered gadget {index}",
                f"B0ORDER{index:03d}",
                day.isoformat(),
                rng.choice((1, 2)),
                format_amount(minor, market, grouped=False),
                "Text+Image",
                f"passive{'-20' if plan.store == 'US' else '-21'}",
                rng.choice(("Y", "N")),
                "DESKTOP",
            ]
        )
    return out.getvalue()


def _tracking_text(plan: _Plan, seed: int) -> str:
    """A Fee-Tracking summary (section 1.3, data-feed column names)."""
    rng = random.Random(seed)
    out = io.StringIO()
    out.write(_title("Tracking", plan.month, _month_end(plan.month), plan.store))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["Tracking ID", "Clicks", "Items Ordered", "Items Shipped", "Revenue($)", "Ad Fees($)"]
    )
    for tag in ("passiveblog-20", "passivenews-20"):
        writer.writerow([tag, rng.randint(100, 900), 12, 10, "123.45", "5.67"])
    return out.getvalue()


def _pack(plan: _Plan, text_path: Path) -> bytes:
    raw = text_path.read_bytes()
    if plan.packing == "gzip":
        return gzip.compress(raw, mtime=0)
    if plan.packing == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo(plan.filename.removesuffix(".zip") + ".csv", _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, raw)
        return buffer.getvalue()
    return raw


@dataclass
class AmazonApiData:
    """Every store's reports, generated once from a seed into a private temporary folder."""

    seed: int = 7
    reports: dict[tuple[str, str], ApiReport] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="passive-amazon-sandbox-")
        self.reset()

    def reset(self) -> None:
        """Back to the first issue of every report."""
        self.reports = {}
        for index, plan in enumerate(PLANS):
            self.reports[(plan.store, plan.filename)] = self._build(plan, index, late_lines=0)

    def _build(self, plan: _Plan, index: int, *, late_lines: int) -> ApiReport:
        seed = self.seed * 1000 + index
        path = Path(self._folder.name) / f"{index:02d}-{late_lines}-{plan.kind}.{plan.fmt}"
        totals: ReportTotals | None = None
        if plan.kind == "earnings":
            totals = write_earnings_report(
                path,
                marketplace=plan.store,
                period_start=plan.month,
                period_end=_month_end(plan.month),
                lines=plan.lines,
                seed=seed,
                returns_ratio=0.05,
                duplicate_ratio=0.03,
                fmt=plan.fmt,
                title=plan.title,
                late_lines=late_lines,
            )
        elif plan.kind == "orders":
            path.write_text(_orders_text(plan, seed), encoding="utf-8")
        else:
            path.write_text(_tracking_text(plan, seed), encoding="utf-8")
        modified = datetime.combine(_month_end(plan.month), datetime.min.time(), UTC)
        modified += timedelta(days=2, hours=6)
        return ApiReport(plan.store, plan.filename, plan.kind, _pack(plan, path), modified, totals)

    def listing(self, store: str) -> list[ApiReport]:
        """The reports of one store, in a stable order."""
        return [r for (s, _), r in sorted(self.reports.items()) if s == store]

    def get(self, store: str, filename: str) -> ApiReport | None:
        """One report of a store, if it exists."""
        return self.reports.get((store, filename))

    def reissue(
        self, store: str = REISSUE_DEFAULT[0], filename: str = REISSUE_DEFAULT[1]
    ) -> ApiReport:
        """Amazon re-issues an earnings report: same name, restated lines, new md5 and date."""
        old = self.reports[(store, filename)]
        if old.kind != "earnings":
            raise ValueError(f"{filename} is not an earnings report")
        index = next(i for i, p in enumerate(PLANS) if (p.store, p.filename) == (store, filename))
        again = self._build(PLANS[index], index, late_lines=12 + 3 * old.reissued)
        again.reissued = old.reissued + 1
        again.last_modified = old.last_modified + timedelta(days=20 * again.reissued)
        self.reports[(store, filename)] = again
        return again

    def expected_months(self, store: str) -> dict[date, tuple[Decimal, Decimal, int]]:
        """Sales, commission and lines per month of the store's earnings reports, as served."""
        out: dict[date, tuple[Decimal, Decimal, int]] = {}
        for report in self.listing(store):
            if report.totals is None:
                continue
            for month, t in report.totals.months.items():
                sales, commission, lines = out.get(month, (Decimal(0), Decimal(0), 0))
                out[month] = (sales + t.sales, commission + t.commission, lines + t.lines)
        return out

    def currency(self, store: str) -> str:
        """The store's currency."""
        return MARKETPLACES[store].currency
