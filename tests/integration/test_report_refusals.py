"""A report may only replace its period with lines it brings, and every line must be accounted.

Issue 10 section 1: an all-rejected, mostly rejected or empty report erased a full period, and
DuckDB's reader loaded no line of a report whose title ended in LF above CRLF lines.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flows.cli import app
from flows.ingest_steps import LineCounts, unaccounted_lines
from sandbox.amazon_reports import write_earnings_report
from tests.conftest import ledger_snapshot
from warehouse.load import LoadResult, replace_refusal

JAN = (date(2026, 1, 1), date(2026, 1, 31))
LEDGER = (
    "SELECT network, account, line_id, event_date, status, sale_amount, commission_amount,"
    " currency, quantity, program, product_id, product_name, tracking_id FROM commissions"
    " ORDER BY ALL"
)
REJECTS = "SELECT locator, raw, reasons FROM rejects ORDER BY ALL"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def ingest(db: Path, report: Path, *more: str) -> tuple[int, str]:
    return cli("ingest", str(report), "--account", "me", "--db", str(db), *more)


@pytest.fixture
def full_january(tmp_path: Path) -> tuple[Path, Path]:
    """A ledger holding a 300-line January, and the report that made it."""
    report = tmp_path / "january.csv"
    write_earnings_report(
        report, marketplace="US", period_start=JAN[0], period_end=JAN[1], lines=300, seed=1
    )
    db = tmp_path / "ledger.duckdb"
    assert ingest(db, report)[0] == 0
    return db, report


def _rewrite(source: Path, target: Path, keep_good: int | None) -> Path:
    """The report with every data line's ship date made invalid, but the first `keep_good`."""
    title, header, *lines = source.read_text(encoding="utf-8").splitlines()
    good = len(lines) if keep_good is None else keep_good
    bad = [line.replace(",2026-01-", ",2026-13-") for line in lines[good:]]
    target.write_text("\n".join([title, header, *lines[:good], *bad]) + "\n", encoding="utf-8")
    return target


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "refused" in line]
    assert len(errors) == 1, output
    return errors[0]


def test_an_all_rejected_report_does_not_erase_its_period(full_january, tmp_path):
    db, report = full_january
    before = ledger_snapshot(db)
    code, output = ingest(db, _rewrite(report, tmp_path / "bad-dates.csv", keep_good=0))
    assert code == 2
    message = _one_line(output)
    assert "bad-dates.csv" in message and "all 300 of its data lines were rejected" in message
    assert "--force" in message
    assert ledger_snapshot(db) == before


def test_a_title_and_header_without_lines_does_not_erase_its_period(full_january, tmp_path):
    db, report = full_january
    empty = tmp_path / "empty.csv"
    empty.write_text("".join(report.read_text(encoding="utf-8").splitlines(True)[:2]))
    before = ledger_snapshot(db)
    code, output = ingest(db, empty)
    assert code == 2
    assert "it has no data lines" in _one_line(output)
    assert ledger_snapshot(db) == before


def test_a_mostly_rejected_report_does_not_replace_its_period(full_january, tmp_path):
    db, report = full_january
    before = ledger_snapshot(db)
    code, output = ingest(db, _rewrite(report, tmp_path / "mostly.csv", keep_good=149))
    assert code == 2
    assert "151 of its 300 data lines were rejected (more than half)" in _one_line(output)
    assert ledger_snapshot(db) == before


def test_a_half_good_report_replaces_its_period_with_the_lines_it_brings(full_january, tmp_path):
    db, report = full_january
    code, _ = ingest(db, _rewrite(report, tmp_path / "half.csv", keep_good=150))
    assert code == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM commissions").fetchone() == (150,)


def test_force_replaces_the_period_with_an_all_rejected_report(full_january, tmp_path):
    db, report = full_january
    code, _ = ingest(db, _rewrite(report, tmp_path / "bad.csv", keep_good=0), "--force")
    assert code == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM commissions").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM rejects").fetchone() == (300,)


def test_an_all_rejected_report_for_a_new_period_records_its_rejects(tmp_path, full_january):
    db, report = full_january
    code, _ = cli(
        "ingest", str(_rewrite(report, tmp_path / "bad.csv", keep_good=0)),
        "--account", "other", "--db", str(db),
    )  # fmt: skip
    assert code == 1  # nothing to erase: loaded what it could (nothing), rejects recorded
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rejects").fetchone() == (300,)


@pytest.mark.parametrize("scan", ["1", "0"], ids=["duckdb-reader", "python-reader"])
def test_a_title_ending_in_lf_above_crlf_lines_loads_every_line(tmp_path, monkeypatch, scan):
    monkeypatch.setenv("PASSIVE_SCAN", scan)
    report = tmp_path / "mixed.csv"
    write_earnings_report(
        report, marketplace="US", period_start=JAN[0], period_end=JAN[1], lines=300, seed=1,
        crlf=True,
    )  # fmt: skip
    data = report.read_bytes()
    report.write_bytes(data.replace(b"\r\n", b"\n", 1))
    db = tmp_path / "ledger.duckdb"
    assert ingest(db, report)[0] == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM commissions").fetchone() == (300,)


GOOD = (
    'Electronics,"USB-C Cable, 2-Pack",B08TTUJVRX,Amazon.com,deals-20,2026-01-{day:02d},'
    "9.99,1,0,9.99,0.45,PHONE"
)
HEADER = (
    "Category,Name,ASIN,Seller,Tracking ID,Date Shipped,Price($),Items Shipped,Returns,"
    "Revenue($),Ad Fees($),Device Type Group"
)
RETURN = "Books,Dune,0441172717,Amazon.com,deals-20,2026-01-{day:02d},9.99,0,1,-9.99,-0.45,PHONE"
LINE = st.one_of(
    st.integers(1, 31).map(lambda day: GOOD.format(day=day)),
    st.integers(1, 31).map(lambda day: RETURN.format(day=day)),
    st.sampled_from(["", "Total,,,,,,,,,,,", GOOD.format(day=32)]),
)
ENDING = st.sampled_from(["\n", "\r\n", "\r"])


def _state(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(LEDGER).fetchall(), con.execute(REJECTS).fetchall()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.tuples(LINE, ENDING), min_size=1, max_size=12),
    title_end=ENDING,
    header_end=ENDING,
    last_ended=st.booleans(),
)
def test_both_readers_load_the_same_ledger_whatever_the_line_endings(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    lines: list[tuple[str, str]],
    title_end: str,
    header_end: str,
    last_ended: bool,
) -> None:
    """LF, CRLF and lone CR in any mix, blank and Total lines among them: DuckDB's reader loads
    exactly the ledger rows and rejects of the Python reader, and every line is accounted."""
    folder = tmp_path_factory.mktemp("endings")
    text = "Fee-Earnings reports from 01-01-2026 to 01-31-2026" + title_end + HEADER + header_end
    text += "".join(line + end for line, end in lines)
    if not last_ended:
        text = text[: -len(lines[-1][1])]
    report = folder / "report.csv"
    report.write_bytes(text.encode("utf-8"))
    states = []
    for scan in ("1", "0"):
        monkeypatch.setenv("PASSIVE_SCAN", scan)
        db = folder / f"scan{scan}.duckdb"
        code, output = ingest(db, report)
        assert code in (0, 1), output
        states.append(_state(db))
    assert states[0] == states[1]
    expected = sum(1 for line, _ in lines if line.startswith(("Electronics", "Books")))
    assert len(states[0][0]) + len(states[0][1]) == expected


def _result(**counts: int) -> LoadResult:
    fields = {"records_read": 0, "loaded": 0, "rejected": 0, "inserted": 0, "changed": 0}
    return LoadResult(**{**fields, "removed": 0, **counts})


def test_a_load_that_does_not_account_for_every_line_is_named(tmp_path):
    from connectors.amazon import open_reports

    report = tmp_path / "r.csv"
    report.write_bytes(
        b"Fee-Earnings reports from 01-01-2026 to 01-31-2026\n" + HEADER.encode()
        + b"\r\n" + GOOD.format(day=1).encode() + b"\r\n\r\nTotal,,,,,,,,,,,\r"
        + b"Books,\"Dune\nVol 1\",1,x,t-20,2026-01-02,1,1,0,1,1,PHONE"
    )  # fmt: skip
    opened = open_reports(report, marketplace="US")[0]
    assert opened.data_lines == 5  # a good line, a blank, a Total and one record on two lines
    lines = LineCounts(skipped=2, continued=1)
    assert unaccounted_lines(opened, _result(records_read=2, loaded=2), lines) is None
    gap = unaccounted_lines(opened, _result(records_read=0), LineCounts())
    assert gap is not None and "holds 5 data lines but 0 were loaded" in gap
    dropped = unaccounted_lines(opened, _result(records_read=2, loaded=1), lines)
    assert dropped is not None


def test_the_refusal_rule_counts_only_replaces_that_remove_lines():
    assert replace_refusal(_result(rejected=300)) is None  # a new period: nothing erased
    assert replace_refusal(_result(removed=5)) is not None  # empty report over lines
    assert replace_refusal(_result(loaded=3, rejected=4, removed=5)) is not None
    assert replace_refusal(_result(loaded=4, rejected=4, removed=5)) is None


def test_an_archive_of_two_reports_for_one_period_is_refused_naming_both(full_january, tmp_path):
    from sandbox.amazon_reports import zip_report

    db, report = full_january
    other = tmp_path / "january-other-tags.csv"
    write_earnings_report(
        other, marketplace="US", period_start=JAN[0], period_end=JAN[1], lines=30, seed=9
    )
    archive = zip_report(report, archive=tmp_path / "download.zip", extra=[other])
    before = ledger_snapshot(db)
    code, output = ingest(db, archive, "--force")
    assert code == 2
    assert "download.zip: members 'january.csv'" in output
    assert "'january-other-tags.csv'" in output
    assert ledger_snapshot(db) == before


def test_a_reader_that_drops_a_line_gets_its_load_refused(full_january, monkeypatch):
    """Fault injection: the Python reader skips one data line as if it were the header's.
    The line count taken from the file's bytes catches it: exit 2, nothing written."""
    import dataclasses

    from flows import ingest_steps

    db, report = full_january
    restated = report.with_name("january-restated.csv")
    write_earnings_report(
        restated, marketplace="US", period_start=JAN[0], period_end=JAN[1], lines=300, seed=1,
        late_lines=5,
    )  # fmt: skip
    real_reader = ingest_steps.iter_raw_batches

    def dropping(opened, *args, **kwargs):  # type: ignore[no-untyped-def]
        return real_reader(dataclasses.replace(opened, header_line=opened.header_line + 1))

    monkeypatch.setattr(ingest_steps, "iter_raw_batches", dropping)
    monkeypatch.setenv("PASSIVE_SCAN", "0")
    before = ledger_snapshot(db)
    code, output = ingest(db, restated)
    assert code == 2
    assert "the file holds 305 data lines but 304 were loaded" in _one_line(output)
    assert ledger_snapshot(db) == before
