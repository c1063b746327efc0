"""The Amazon report generator and demo set: realistic, deterministic, and exact totals."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.amazon import iter_raw_batches, open_reports
from flows.amazon_validation import validate_earnings_batch
from sandbox.amazon_reports import DemoReport, write_demo_reports, write_earnings_report, zip_report
from schemas.commission import CommissionLine


def ledger(report: DemoReport | Path, marketplace: str = "") -> list[CommissionLine]:
    path, market = (
        (report.path, report.marketplace)
        if isinstance(report, DemoReport)
        else (report, marketplace)
    )
    lines: list[CommissionLine] = []
    for opened in open_reports(path, marketplace=market):
        for batch in iter_raw_batches(opened):
            validated = validate_earnings_batch(batch, opened, account="demo")
            assert validated.rejects == []
            lines += validated.lines
    return lines


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[DemoReport]:
    return write_demo_reports(tmp_path_factory.mktemp("demo"))


def test_demo_set_covers_three_stores_several_months_and_shapes(demo: list[DemoReport]) -> None:
    assert {r.marketplace for r in demo} == {"US", "UK", "IT"}
    assert {r.account for r in demo} == {"demo-us", "demo-uk", "demo-it"}
    suffixes = Counter(r.path.suffix for r in demo)
    assert suffixes[".zip"] >= 2 and suffixes[".tsv"] >= 1 and suffixes[".csv"] >= 3
    for store in ("US", "UK", "IT"):
        months = {r.period_start for r in demo if r.marketplace == store}
        assert len(months) == 3
    assert all(100 <= r.totals.lines <= 500 for r in demo)


def test_demo_reports_round_trip_to_their_totals(demo: list[DemoReport]) -> None:
    for report in demo:
        lines = ledger(report)
        assert len(lines) == report.totals.lines
        assert sum((x.sale_amount for x in lines), Decimal(0)) == report.totals.sales
        assert sum((x.commission_amount for x in lines), Decimal(0)) == report.totals.commission


def test_demo_has_one_restated_month_with_changed_lines(demo: list[DemoReport]) -> None:
    (again,) = [r for r in demo if r.restatement]
    (first,) = [
        r
        for r in demo
        if not r.restatement and r.account == again.account and r.period_start == again.period_start
    ]
    before = Counter(x.line_id for x in ledger(first))
    after = Counter(x.line_id for x in ledger(again))
    assert before - after == Counter()  # every line of the first download is still there
    assert after != before
    assert again.totals.returns > first.totals.returns


def test_demo_returns_come_in_a_later_month_than_their_shipment(demo: list[DemoReport]) -> None:
    for store in ("US", "UK", "IT"):
        reports = sorted(
            (r for r in demo if r.marketplace == store and not r.restatement),
            key=lambda r: r.period_start,
        )
        shipped_earlier = {x.product_id for x in ledger(reports[0]) if x.sale_amount > 0}
        later_returns = [x for r in reports[1:] for x in ledger(r) if x.sale_amount < 0]
        assert any(x.product_id in shipped_earlier for x in later_returns), store


def test_demo_set_is_deterministic(tmp_path: Path) -> None:
    def digests(folder: Path) -> dict[str, str]:
        return {
            r.path.name: hashlib.sha256(r.path.read_bytes()).hexdigest()
            for r in write_demo_reports(folder)
        }

    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_generated_report_has_localized_header_and_number_format(tmp_path: Path) -> None:
    path = tmp_path / "it.csv"
    write_earnings_report(
        path,
        marketplace="IT",
        period_start=date(2024, 3, 1),
        period_end=date(2024, 3, 31),
        lines=300,
        seed=5,
    )
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[0] == "Fee-Earnings reports from 01-03-2024 to 31-03-2024"
    assert text[1].startswith("Categoria,Prodotto,ASIN,Venditore,TrackingID,Data Spedizione")
    body = "\n".join(text[2:])
    assert '"1.' in body or ',"' in body  # comma decimals are quoted in a comma CSV
    assert " 00:00:00" in body


def test_generated_report_has_returns_duplicates_and_awkward_names(tmp_path: Path) -> None:
    path = tmp_path / "us.csv"
    totals = write_earnings_report(
        path,
        marketplace="US",
        period_start=date(2024, 1, 1),
        period_end=date(2024, 2, 29),
        lines=2000,
        seed=9,
    )
    lines = ledger(path, "US")
    assert totals.returns == sum(1 for x in lines if x.sale_amount < 0) > 0
    assert totals.duplicates > 0
    assert len({x.line_id for x in lines}) < len(lines)
    names = {x.product_name or "" for x in lines}
    assert any("," in n for n in names) and any('"' in n for n in names)
    assert any(not n.isascii() for n in names)
    assert len({x.tracking_id for x in lines}) == 3
    assert set(totals.months) == {date(2024, 1, 1), date(2024, 2, 1)}
    assert sum(t.lines for t in totals.by_tracking_id.values()) == 2000


def test_zero_lines_writes_title_and_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.tsv"
    totals = write_earnings_report(
        path,
        marketplace="UK",
        period_start=date(2024, 1, 1),
        period_end=date(2024, 1, 31),
        lines=0,
        seed=1,
        fmt="tsv",
    )
    assert totals.lines == 0 and totals.sales == Decimal(0)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    assert ledger(path, "UK") == []


def test_zip_report_is_deterministic_and_holds_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_earnings_report(
        path,
        marketplace="US",
        period_start=date(2024, 1, 1),
        period_end=date(2024, 1, 31),
        lines=50,
        seed=2,
    )
    first = zip_report(path).read_bytes()
    assert zip_report(path).read_bytes() == first
    (plain,) = open_reports(path, marketplace="US")
    (zipped,) = open_reports(path.with_suffix(".zip"), marketplace="US")
    assert plain.content_hash == zipped.content_hash
