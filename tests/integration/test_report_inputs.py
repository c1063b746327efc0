"""What a report file says about itself must agree with how it is ingested (issue 10)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from connectors.amazon import AmazonReportError, get_marketplace
from connectors.amazon.marketplaces import Evidence, check_store, store_evidence
from flows.cli import app
from sandbox.amazon_reports import write_earnings_report
from tests.conftest import ledger_snapshot

JAN = (date(2026, 1, 1), date(2026, 1, 31))
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _us_report(folder: Path, *, sellers: bool = True) -> Path:
    report = folder / "us-january.csv"
    write_earnings_report(
        report, marketplace="US", period_start=JAN[0], period_end=JAN[1], lines=40, seed=4
    )
    if not sellers:
        text = report.read_text(encoding="utf-8").replace("Amazon.com", "ToyShop LLC")
        report.write_text(text, encoding="utf-8")
    return report


def test_a_us_report_ingested_as_ca_is_refused_naming_the_evidence(tmp_path):
    db = tmp_path / "ledger.duckdb"
    code, output = cli(
        "ingest", str(_us_report(tmp_path)), "--account", "me", "--marketplace", "CA",
        "--db", str(db),
    )  # fmt: skip
    assert code == 2
    assert "us-january.csv: this looks like a report of the US store, not CA (CAD)" in output
    assert "Seller 'Amazon.com' (line 3)" in output
    assert not db.exists()


def test_a_us_report_nothing_tells_from_a_ca_one_loads_as_ca_with_a_warning(tmp_path):
    db = tmp_path / "ledger.duckdb"
    code, output = cli(
        "ingest", str(_us_report(tmp_path, sellers=False)), "--account", "me",
        "--marketplace", "CA", "--db", str(db),
    )  # fmt: skip
    assert code == 0
    assert "warning" in output and "tells a CA report from a US one" in output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT DISTINCT currency FROM commissions").fetchall() == [("CAD",)]


def test_a_store_confirmed_by_its_report_loads_without_a_warning(tmp_path):
    db = tmp_path / "ledger.duckdb"
    code, output = cli("ingest", str(_us_report(tmp_path)), "--account", "me", "--db", str(db))
    assert code == 0 and "warning" not in output


def test_an_existing_ledger_is_untouched_by_a_report_of_another_store(tmp_path):
    db = tmp_path / "ledger.duckdb"
    report = _us_report(tmp_path)
    assert cli("ingest", str(report), "--account", "me", "--db", str(db))[0] == 0
    before = ledger_snapshot(db)
    ca = tmp_path / "ca.csv"
    write_earnings_report(
        ca, marketplace="CA", period_start=JAN[0], period_end=JAN[1], lines=10, seed=2
    )
    code, output = cli("ingest", str(ca), "--account", "me", "--marketplace", "US", "--db", str(db))
    assert code == 2 and "ca.csv: this looks like a report of the CA store, not US" in output
    assert ledger_snapshot(db) == before


@pytest.mark.parametrize(
    ("header", "cells", "store"),
    [
        ({"price": "Price(C$)"}, {}, "CA"),
        ({"price": "Price(US$)"}, {}, "US"),
        ({}, {"revenue": "C$ 12.00"}, "CA"),
        ({}, {"revenue": "29,90"}, "DE"),
        ({}, {"tracking_id": "blog-21"}, "UK"),
        ({}, {"tracking_id": "blog-22"}, "JP"),
        ({}, {"seller": "Amazon.ca"}, "CA"),
    ],
)
def test_each_kind_of_store_evidence_refuses_a_contradiction(header, cells, store):
    evidence = store_evidence(header, [(3, cells)])
    assert evidence and all(store in e.stores for e in evidence)
    other = "JP" if store != "JP" else "US"
    with pytest.raises(AmazonReportError, match="this looks like a report of"):
        check_store(get_marketplace(other), evidence, name="r.csv")
    check_store(get_marketplace(store), evidence, name="r.csv")  # the right store: no error


def test_dollars_and_a_20_tag_cannot_tell_us_from_ca():
    evidence = [Evidence(frozenset({"US", "CA"}), "header 'Price($)'")]
    warning = check_store(get_marketplace("US"), evidence, name="r.csv")
    assert warning is not None and "a US report from a CA one" in warning


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "@SUM(1+1)", "-2+3"]


def test_csv_output_neutralises_formulas_and_the_ledger_keeps_them_verbatim(tmp_path):
    import csv
    import io

    report = tmp_path / "formulas.csv"
    write_earnings_report(
        report, marketplace="US", period_start=JAN[0], period_end=JAN[1], lines=30, seed=5,
        tracking_ids=FORMULAS,
    )  # fmt: skip
    db = tmp_path / "ledger.duckdb"
    code, output = cli("ingest", str(report), "--account", "@me", "--db", str(db))
    assert code == 0, output
    with duckdb.connect(str(db), read_only=True) as con:
        stored = {row[0] for row in con.execute("SELECT tracking_id FROM commissions").fetchall()}
    assert stored == set(FORMULAS)  # the ledger keeps what the report said
    code, output = cli("tally", "--by", "tracking-id", "--format", "csv", "--db", str(db))
    assert code == 0
    cells = [cell for row in csv.reader(io.StringIO(output)) for cell in row]
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), cell
    assert '\'=HYPERLINK("http://evil.example","x")' in cells and "'+1+1" in cells
    assert "'@SUM(1+1)" in cells and "'-2+3" in cells
    code, output = cli("tally", "--by", "account", "--format", "csv", "--db", str(db))
    assert "'@me" in output


def test_negative_amounts_stay_numbers_in_csv_output():
    from flows.output import spreadsheet_safe

    assert spreadsheet_safe("-3.10") == "-3.10" and spreadsheet_safe("+5") == "+5"
    assert spreadsheet_safe("-") == "'-" and spreadsheet_safe("-x") == "'-x"
    assert spreadsheet_safe("\tx") == "'\tx" and spreadsheet_safe("\rx") == "'\rx"
    assert spreadsheet_safe("plain") == "plain" and spreadsheet_safe(3) == 3


HEADER = (
    "Category,Name,ASIN,Seller,Tracking ID,Date Shipped,Price($),Items Shipped,Returns,"
    "Revenue($),Ad Fees($),Device Type Group"
)
SALE = "Books,Dune,0441172717,Amazon.com,blog-20,2026-01-05,9.99,1,0,9.99,0.45,PHONE"
# A return as the reference shows it (affiliate-formats.md 1.5): its own line, negative
# amounts; written with Returns 1, or with a negative Items Shipped.
RETURNS = [
    "Books,Dune,0441172717,Amazon.com,blog-20,2026-01-09,9.99,0,1,-9.99,-0.45,PHONE",
    "Books,Dune,0441172717,Amazon.com,blog-20,2026-01-10,9.99,-1,0,-9.99,-0.45,PHONE",
]
BAD = {
    "nul": "Books,Du\x00ne,0441172717,Amazon.com,blog-20,2026-01-06,9.99,1,0,9.99,0.45,PHONE",
    "earning-return": (
        "Books,Dune,0441172717,Amazon.com,blog-20,2026-01-07,9.99,-3,0,29.97,1.35,PHONE"
    ),
}


@pytest.mark.parametrize("scan", ["1", "0"], ids=["duckdb-reader", "python-reader"])
def test_a_nul_byte_and_a_return_that_earns_are_rejected_with_reasons(tmp_path, monkeypatch, scan):
    monkeypatch.setenv("PASSIVE_SCAN", scan)
    report = tmp_path / "report.csv"
    lines = [SALE, *RETURNS, BAD["nul"], BAD["earning-return"]] + [SALE] * 5
    title = "Fee-Earnings reports from 01-01-2026 to 01-31-2026"
    report.write_text("\n".join([title, HEADER, *lines]) + "\n", encoding="utf-8")
    db = tmp_path / "ledger.duckdb"
    code, output = cli("ingest", str(report), "--account", "me", "--db", str(db))
    assert code == 1, output
    with duckdb.connect(str(db), read_only=True) as con:
        rejects = dict(con.execute("SELECT locator, reasons FROM rejects").fetchall())
        quantities = sorted(
            r[0] for r in con.execute("SELECT quantity FROM commissions").fetchall()
        )
    assert set(rejects) == {"report.csv:6", "report.csv:7"}
    assert any("NUL byte" in reason for reason in rejects["report.csv:6"])
    assert any("is a return" in reason and "29.97" in reason for reason in rejects["report.csv:7"])
    assert quantities == [-1, -1, 1, 1, 1, 1, 1, 1]  # both real returns kept as returns


def test_an_empty_zip_says_it_is_an_empty_zip_archive(tmp_path):
    import zipfile

    archive = tmp_path / "download.zip"
    zipfile.ZipFile(archive, "w").close()
    assert archive.stat().st_size == 22
    code, output = cli("ingest", str(archive), "--account", "me", "--db", str(tmp_path / "l.db"))
    assert code == 2
    assert "download.zip: an empty ZIP archive (22 bytes, no file in it)" in output
    assert "PK" not in output


def test_a_zip_without_a_report_names_what_it_holds(tmp_path):
    import zipfile

    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("__MACOSX/._x.csv", b"junk")
    code, output = cli("ingest", str(archive), "--account", "me", "--db", str(tmp_path / "l.db"))
    assert (
        code == 2 and "a ZIP archive that holds no report file (only '__MACOSX/._x.csv')" in output
    )


@pytest.mark.parametrize("scan", ["1", "0"], ids=["duckdb-reader", "python-reader"])
def test_a_giant_unquoted_cell_says_what_is_wrong_with_the_file(tmp_path, monkeypatch, scan):
    monkeypatch.setenv("PASSIVE_SCAN", scan)
    report = tmp_path / "giant.csv"
    giant = SALE.replace("Dune", "x" * 200_000)  # past csv's 131,072 limit, as 50 MB is
    title = "Fee-Earnings reports from 01-01-2026 to 01-31-2026"
    report.write_text("\n".join([title, HEADER, SALE, giant, SALE]) + "\n", encoding="utf-8")
    code, output = cli("ingest", str(report), "--account", "me", "--db", str(tmp_path / "l.db"))
    assert code == 2
    lines = [line for line in output.splitlines() if "giant.csv:4:" in line]
    assert len(lines) == 1, output
    assert "a line of 200,072 characters with a cell longer than 131,072" in lines[0]
    assert "not a readable Fee-Earnings report" in lines[0] and "closed quotes" not in lines[0]
