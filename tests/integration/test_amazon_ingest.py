"""Amazon report files through the pipeline into real DuckDB files, checked to the cent."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flows import ingest_steps
from flows.cli import app
from sandbox.amazon_reports import ReportTotals, write_earnings_report, zip_report
from tests.conftest import assert_ledger_keys_unique

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"
JAN = (date(2026, 1, 1), date(2026, 1, 31))
FEB = (date(2026, 2, 1), date(2026, 2, 28))
CONTENT = (
    "network, account, line_id, event_date, status, sale_amount, commission_amount, currency,"
    " quantity, program, product_id, product_name, tracking_id"
)


def ingest(
    db: Path, *files: Path, account: str = "me", marketplace: str = "US", force: bool = False
):
    return ingest_steps.ingest_files(
        files, db=db, account=account, marketplace=marketplace, force=force
    )


def ledger_lines(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"SELECT {CONTENT} FROM commissions ORDER BY ALL").fetchall()


def months(db: Path) -> dict[date, tuple[Decimal, Decimal, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT month, sum(sales), sum(commission), sum(lines)::INT FROM revenue_monthly"
            " GROUP BY ALL"
        ).fetchall()
    return {m: (s, c, n) for m, s, c, n in rows}


def generated(totals: ReportTotals) -> dict[date, tuple[Decimal, Decimal, int]]:
    return {m: (t.sales, t.commission, t.lines) for m, t in totals.months.items()}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, ReportTotals]]:
    folder = tmp_path_factory.mktemp("reports")
    made: dict[str, tuple[Path, ReportTotals]] = {}

    def make(name: str, period: tuple[date, date], seed: int, **kw) -> None:
        path = folder / f"{name}.csv"
        made[name] = (path, write_earnings_report(
            path, marketplace="US", period_start=period[0], period_end=period[1],
            lines=kw.pop("lines", 300), seed=seed, **kw,
        ))  # fmt: skip

    make("jan", JAN, 1, duplicate_ratio=0.05)
    make("jan_restated", JAN, 1, duplicate_ratio=0.05, late_lines=12)
    make("jan_other", JAN, 3, lines=120)
    make("feb", FEB, 2)
    zipped = zip_report(made["jan"][0], archive=folder / "renamed-download.zip")
    made["jan_zipped"] = (zipped, made["jan"][1])
    return made


def test_a_generated_report_lands_to_the_cent(db, reports):
    path, totals = reports["jan"]
    summary = ingest(db, path)
    assert summary.exit_code == 0
    assert months(db) == generated(totals)
    assert totals.duplicates > 0 and totals.returns > 0  # both kinds of line were exercised


def test_a_large_report_through_the_cli_with_workers_lands_to_the_cent(db, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "big.csv"
    totals = write_earnings_report(
        path, marketplace="UK", period_start=date(2025, 1, 1), period_end=date(2025, 12, 31),
        lines=65_000, seed=5, duplicate_ratio=0.02,
    )  # fmt: skip
    # A fresh CLI process: single-threaded when it forks its two validation workers, which
    # then validate each 20k-line batch one ahead of the load (the last 5k in-process).
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(path), "--account", "big",
         "--marketplace", "UK", "--db", str(db)],
        capture_output=True, text=True, env={**os.environ, "PASSIVE_WORKERS": "2"},
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert months(db) == generated(totals)


def test_the_same_content_zipped_and_renamed_is_a_no_op(db, reports, snapshot):
    ingest(db, reports["jan"][0])
    before = snapshot(db)
    summary = ingest(db, reports["jan_zipped"][0])
    assert [r.status for r in summary.reports] == ["skipped"]
    assert snapshot(db) == before


def test_force_re_applies_without_changing_the_ledger(db, reports):
    ingest(db, reports["jan"][0])
    before = ledger_lines(db)
    summary = ingest(db, reports["jan"][0], force=True)
    assert [r.status for r in summary.reports] == ["loaded"]
    assert ledger_lines(db) == before


def test_a_restated_report_replaces_its_period_and_leaves_other_months(db, reports):
    ingest(db, reports["jan"][0], reports["feb"][0])
    ingest(db, reports["jan_other"][0])
    assert months(db) == generated(reports["jan_other"][1]) | generated(reports["feb"][1])


def test_identical_lines_in_a_report_both_count(db, tmp_path):
    report = tmp_path / "dupes.csv"
    report.write_text(
        "Fee-Earnings reports from 01-01-2026 to 01-31-2026\n"
        "Category,Name,ASIN,Seller,Tracking ID,Date Shipped,Price($),Items Shipped,Returns,"
        "Revenue($),Ad Fees($),Device Type Group\n"
        'Books,"A, B",B000000001,Amazon.com,me-20,2026-01-05,10.00,1,0,10.00,0.45,PHONE\n'
        'Books,"A, B",B000000001,Amazon.com,me-20,2026-01-05,10.00,1,0,10.00,0.45,PHONE\n',
        encoding="utf-8",
    )
    ingest(db, report)
    assert months(db) == {date(2026, 1, 1): (Decimal("20.0000"), Decimal("0.9000"), 2)}


def test_a_later_return_nets_its_month(db, tmp_path):
    header = (
        "Category,Name,ASIN,Seller,Tracking ID,Date Shipped,Price($),Items Shipped,Returns,"
        "Revenue($),Ad Fees($),Device Type Group\n"
    )
    jan, feb = tmp_path / "jan.csv", tmp_path / "feb.csv"
    jan.write_text(
        "Fee-Earnings reports from 01-01-2026 to 01-31-2026\n"
        + header
        + "Toys,Train,B000000002,Amazon.com,me-20,2026-01-20,80.00,1,0,80.00,2.40,DESKTOP\n"
        + "Toys,Ball,B000000003,Amazon.com,me-20,2026-01-21,5.00,1,0,5.00,0.15,DESKTOP\n"
    )
    feb.write_text(
        "Fee-Earnings reports from 02-01-2026 to 02-28-2026\n"
        + header
        + "Toys,Train,B000000002,Amazon.com,me-20,2026-02-03,80.00,0,1,-80.00,-2.40,DESKTOP\n"
    )
    ingest(db, jan, feb)
    assert months(db) == {
        date(2026, 1, 1): (Decimal("85.0000"), Decimal("2.5500"), 2),
        date(2026, 2, 1): (Decimal("-80.0000"), Decimal("-2.4000"), 1),
    }


@pytest.mark.parametrize(
    ("fixture", "marketplace", "commission"),
    [
        # Expected commission worked out by hand from each file's Ad Fees column.
        ("us_earnings.csv", "US", Decimal("49.3700")),  # 1.04+47.25+0.43-0.52+1.17
        ("uk_earnings.csv", "UK", Decimal("8.7300")),  # 7.50+0.98+0.25
        ("it_earnings.csv", "IT", Decimal("38.7200")),  # 2,09+37,04+1,68-2,09
        ("us_legacy.tsv", "US", Decimal("2.6400")),  # 1.20+1.44
        ("us_direct_crlf_bom.csv", "US", Decimal("2.8100")),  # 1.04+0.60+1.17, its Total row
    ],
)
def test_every_fixture_variant_loads_in_full(db, fixture, marketplace, commission):
    summary = ingest(db, FIXTURES / fixture, marketplace=marketplace)
    assert summary.exit_code == 0, summary
    loaded = summary.total("loaded")
    assert loaded == summary.total("records_read") > 0
    assert sum(c for _, c, _ in months(db).values()) == commission


def test_bad_rows_are_rejected_with_file_line_and_reason_while_good_rows_load(db):
    summary = ingest(db, FIXTURES / "bad_rows.csv")
    assert summary.exit_code == 1
    with duckdb.connect(str(db), read_only=True) as con:
        rejects = con.execute("SELECT locator, reasons FROM rejects ORDER BY locator").fetchall()
        loaded = con.execute("SELECT count(*) FROM commissions").fetchone()
    assert loaded == (summary.total("loaded"),) and loaded[0] > 0
    assert rejects and all(loc.startswith("bad_rows.csv:") for loc, _ in rejects)
    assert any("revenue" in " ".join(reasons) for _, reasons in rejects)


def test_a_failure_injected_mid_load_leaves_the_ledger_exactly_as_before(
    db, reports, snapshot, monkeypatch
):
    ingest(db, reports["feb"][0])
    before = snapshot(db)
    from connectors import amazon as amazon_connector
    from flows import amazon_validation

    batches_seen = {"n": 0}

    def flaky_stream(batches, **kwargs):
        for batch in amazon_validation.validate_earnings_stream(batches, **kwargs):
            batches_seen["n"] += 1
            if batches_seen["n"] == 2:
                raise MemoryError("injected after the first batch was staged")
            yield batch

    monkeypatch.setenv("PASSIVE_SCAN", "0")  # the Python reader's batches are the ones failing
    monkeypatch.setattr(ingest_steps, "validate_earnings_stream", flaky_stream)
    small_batches = lambda report: amazon_connector.iter_raw_batches(report, batch_size=100)  # noqa: E731
    monkeypatch.setattr(ingest_steps, "iter_raw_batches", small_batches)
    with pytest.raises(MemoryError):
        ingest(db, reports["jan"][0])
    assert batches_seen["n"] == 2
    assert snapshot(db) == before


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.lists(st.sampled_from(["jan", "jan_restated", "jan_other", "feb", "jan_zipped"]),
                      min_size=1, max_size=6))  # fmt: skip
def test_any_order_and_repetition_equals_each_distinct_report_once_in_order(
    tmp_path_factory, reports, order
):
    """Applying a sequence equals applying its first sightings of each content, in order."""
    db = tmp_path_factory.mktemp("seq") / "ledger.duckdb"
    for name in order:
        ingest(db, reports[name][0])
    distinct: list[str] = []
    for name in order:
        canonical = "jan" if name == "jan_zipped" else name
        if canonical not in distinct:
            distinct.append(canonical)
    reference = tmp_path_factory.mktemp("ref") / "ledger.duckdb"
    for name in distinct:
        ingest(reference, reports[name][0])
    assert ledger_lines(db) == ledger_lines(reference)
    assert_ledger_keys_unique(db)


runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_exit_codes_follow_the_design(db):
    assert (
        cli("ingest", str(FIXTURES / "us_earnings.csv"), "--account", "me", "--db", str(db))[0] == 0
    )
    # Mostly rejected: loads its good lines into a period the ledger does not hold (exit 1),
    # but may not replace one it does (exit 2, issue 10).
    bad_rows = str(FIXTURES / "bad_rows.csv")
    assert cli("ingest", bad_rows, "--account", "new", "--db", str(db))[0] == 1
    assert cli("ingest", bad_rows, "--account", "me", "--db", str(db))[0] == 2
    code, output = cli(
        "ingest", str(FIXTURES / "bad_header.csv"), "--account", "x", "--db", str(db)
    )
    assert code == 2 and "bad_header.csv:2" in output
    code, output = cli("ingest", "no-such-file.csv", "--account", "x", "--db", str(db))
    assert code == 2 and "no-such-file.csv: no such file" in output


def test_cli_bad_header_loads_nothing(db):
    code, _ = cli(
        "ingest", str(FIXTURES / "us_earnings.csv"), str(FIXTURES / "bad_header.csv"),
        "--account", "x", "--db", str(db),
    )  # fmt: skip
    assert code == 2
    assert not db.exists()


def test_cli_tally_json_is_exact_per_currency(db):
    cli("ingest", str(FIXTURES / "it_earnings.csv"), "--account", "it", "--marketplace", "IT",
        "--db", str(db))  # fmt: skip
    code, output = cli("tally", "--db", str(db), "--format", "json")
    assert code == 0
    import json

    rows = json.loads(output)
    assert rows == [
        {"month": "2024-03-01", "currency": "EUR", "lines": 4, "sales": "1258.56",
         "pending": "0.00", "approved": "38.72", "paid": "0.00", "reversed": "0.00",
         "net": "38.72"}
    ]  # fmt: skip


def test_cli_tally_without_a_ledger_says_how_to_make_one(tmp_path):
    code, output = cli("tally", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "passive demo" in output


def test_cli_rejects_lists_locators(db):
    cli("ingest", str(FIXTURES / "bad_rows.csv"), "--account", "me", "--db", str(db))
    code, output = cli("rejects", "--db", str(db), "--format", "csv")
    assert code == 0 and "bad_rows.csv:" in output


def test_a_tally_leaves_the_connections_optimizer_settings_as_it_found_them(db):
    from warehouse.connection import ledger
    from warehouse.tally import tally

    ingest(db, FIXTURES / "it_earnings.csv", account="it", marketplace="IT")
    with ledger(db, read_only=True) as con:
        before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
        result = tally(con, "month")
        with pytest.raises(duckdb.Error):
            tally(con, "month", since="not a date")  # type: ignore[arg-type]
        after = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
        con.execute("SET disabled_optimizers = 'join_order'")
        tally(con, "month")
        own = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
    assert before == after
    assert own == ("join_order",)
    assert result.columns[:3] == ("month", "currency", "lines")
    assert result.rows[0][1:3] == ("EUR", 4)
