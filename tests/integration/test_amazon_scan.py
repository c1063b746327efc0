"""DuckDB's reader (warehouse/amazon_scan.py) must load exactly what the Python reader loads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import ingest_steps
from warehouse import amazon_scan, load

HEADER = (
    "Category,Name,ASIN,Seller,Tracking ID,Date Shipped,Price($),Items Shipped,Returns,"
    "Revenue($),Ad Fees($),Device Type Group"
)
TITLE = "Fee-Earnings reports from 01-01-2025 to 01-31-2025"
LEDGER = (
    "SELECT network, account, line_id, event_date, status, sale_amount, commission_amount,"
    " currency, quantity, program, product_id, product_name, tracking_id FROM commissions"
    " ORDER BY ALL"
)
REJECTS = "SELECT locator, raw, reasons FROM rejects ORDER BY locator"


def _load(report: Path, db: Path, monkeypatch: pytest.MonkeyPatch, *, scan: bool) -> None:
    monkeypatch.setenv("PASSIVE_SCAN", "1" if scan else "0")
    ingest_steps.ingest_files([report], db=db, account="me", marketplace="US")


def _state(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    with duckdb.connect(str(db), read_only=True) as con:
        lines = con.execute(LEDGER).fetchall()
        rejects = con.execute(REJECTS).fetchall()
        read = con.execute("SELECT sum(records_read) FROM ingest_runs").fetchall()[0][0]
    return lines, rejects, int(read or 0)


def _both_ways(text: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple:
    report = folder / "Fee-Earnings.csv"
    report.write_text(text, encoding="utf-8", newline="")
    scanned, python = folder / "scanned.duckdb", folder / "python.duckdb"
    _load(report, scanned, monkeypatch, scan=True)
    _load(report, python, monkeypatch, scan=False)
    return _state(scanned), _state(python)


GOOD = (
    'Electronics,"USB-C Cable, 2-Pack",B08TTUJVRX,Amazon.com,deals-20,2025-01-05,'
    "9.99,1,0,9.99,0.45,PHONE"
)

# Cells that are plain, cells the Python reader normalises (DuckDB must leave those lines to
# it) and cells that are wrong (rejects), per column.
TEXT = st.sampled_from(["Books", "", " padded ", "Kitchen\u00a0", 'He said ""hi""', "日本茶"])
NAME = st.sampled_from(['"Lodge 12"" Skillet"', '"a, b"', "Plain name", "", " x"])
ASIN = st.sampled_from(["B0T2J9IKR7", "B08TTUJVRX", "", " B0ABC "])
TRACKING = st.sampled_from(["yt-20", "deals-20", "", "x-20 "])
DAY = st.sampled_from(
    [
        "2025-01-05",
        "2025-01-31",
        "2025-01-05 12:00:00",
        "2025-02-01",
        "2025-13-01",
        "Jan 5, 2025",
        "",
    ],
)
MONEY = st.sampled_from(["9.99", "-0.45", "0", "1,234.50", "$3.10", "1.23456", "abc", "", "-0"])
COUNT = st.sampled_from(["1", "0", "2", "-1", "x", ""])
ROW = st.tuples(TEXT, NAME, ASIN, TEXT, TRACKING, DAY, MONEY, COUNT, COUNT, MONEY, MONEY, TEXT)
EXTRA_LINE = st.sampled_from(["", "Total,,,,,,,,,,,", "a,b", GOOD + ",extra", GOOD, GOOD])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.one_of(ROW.map(list), EXTRA_LINE), min_size=1, max_size=25),
    crlf=st.booleans(),
    delimiter=st.sampled_from([",", "\t"]),
    direct=st.booleans(),
    trailing=st.booleans(),
    staged=st.booleans(),
    grouped=st.booleans(),
)
def test_duckdb_and_python_readers_load_the_same_ledger_and_rejects(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[list[str] | str],
    crlf: bool,
    delimiter: str,
    direct: bool,
    trailing: bool,
    staged: bool,
    grouped: bool,
) -> None:
    """Any mix of plain, oddly written and wrong lines, as CSV or TSV, with the optional
    Direct column and a trailing delimiter, loads the same either way (and DuckDB's way
    groups the lines in one pass, or reads every line as a row and numbers the repeats
    after, or stages them and groups them in passes)."""
    monkeypatch.setenv("PASSIVE_SCAN_REPEATS_TO_GROUP", "0" if grouped else "2")
    monkeypatch.setenv("PASSIVE_SCAN_PASS_BYTES", str(0 if staged else 2**31))
    monkeypatch.setenv("PASSIVE_SCAN_PASS_LINES", str(3 if staged else 500_000))

    def line(cells: list[str]) -> str:
        return delimiter.join(cells + (["Y"] if direct else []) + ([""] if trailing else []))

    header = HEADER.split(",") + (["Direct"] if direct else [])
    lines = [line(row) if isinstance(row, list) else row for row in rows]
    end = "\r\n" if crlf else "\n"
    text = end.join([TITLE, delimiter.join(header + ([""] if trailing else [])), *lines]) + end
    scanned, python = _both_ways(text, tmp_path_factory.mktemp("both"), monkeypatch)
    assert scanned == python


def test_a_plain_report_is_staged_by_duckdb_not_parsed_in_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_python_reader(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Python reader was used")

    monkeypatch.setattr(ingest_steps, "iter_raw_batches", no_python_reader)
    lines = [GOOD.replace("2025-01-05", f"2025-01-{day:02d}") for day in range(1, 29)]
    report = tmp_path / "plain.csv"
    report.write_text("\n".join([TITLE, HEADER, *lines, GOOD]) + "\n", encoding="utf-8")
    _load(report, tmp_path / "l.duckdb", monkeypatch, scan=True)
    lines_, rejects, read = _state(tmp_path / "l.duckdb")
    assert (len(lines_), rejects, read) == (29, [], 29)
    # The repeated line is a second sale, numbered after the first.
    assert sorted(line[2][-2:] for line in lines_).count("-2") == 1


def test_a_report_whose_lines_hardly_repeat_is_read_line_by_line_and_numbered_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report with 3 of 60 lines repeated (one of them three times): DuckDB reads every line
    as a row, the repeats are numbered row by row (incoming_by_row.sql), and the ledger is
    the Python reader's, row for row; the grouped read gives the same ledger too."""
    modes: list[str] = []
    real_query = amazon_scan._query

    def query(report: object, path: Path, rows: amazon_scan.Rows = "read") -> object:
        modes.append(rows)
        return real_query(report, path, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(amazon_scan, "_query", query)
    by_row: list[bool] = []
    real_by_row = load._numbered_by_row

    def numbered_by_row(*args: object) -> bool:
        by_row.append(real_by_row(*args))  # type: ignore[arg-type]
        return by_row[-1]

    monkeypatch.setattr(load, "_numbered_by_row", numbered_by_row)
    distinct = [GOOD.replace("9.99,1,0,9.99", f"{n}.99,1,0,{n}.99") for n in range(1, 57)]
    lines = [*distinct, distinct[3], distinct[3], distinct[9]]
    report = tmp_path / "Fee-Earnings.csv"
    report.write_text("\n".join([TITLE, HEADER, *lines]) + "\n", encoding="utf-8")
    ledgers = {}
    for name, scan, share in [("each", True, "0.1"), ("read", True, "0"), ("python", False, "0.1")]:
        monkeypatch.setenv("PASSIVE_SCAN_REPEATS_TO_GROUP", share)
        _load(report, tmp_path / f"{name}.duckdb", monkeypatch, scan=scan)
        ledgers[name] = _state(tmp_path / f"{name}.duckdb")
    assert modes[:2] == ["each", "read"]
    assert by_row == [True, True]  # the line-by-line scan's stage, then the Python reader's
    assert ledgers["each"] == ledgers["python"] == ledgers["read"]
    ids = [line[2] for line in ledgers["each"][0]]
    assert len(ids) == len(set(ids)) == 59
    assert sorted(i[-2:] for i in ids).count("-2") == 2
    assert sorted(i[-2:] for i in ids).count("-3") == 1


@pytest.mark.parametrize("repeated", [False, True])
def test_a_new_periods_lines_each_get_one_inserted_change_with_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repeated: bool
) -> None:
    lines = [GOOD.replace("2025-01-05", f"2025-01-{day:02d}") for day in range(1, 29)]
    report = tmp_path / "plain.csv"
    extra = [GOOD, GOOD] if repeated else []
    report.write_text("\n".join([TITLE, HEADER, *lines, *extra]) + "\n", encoding="utf-8")
    _load(report, tmp_path / "l.duckdb", monkeypatch, scan=True)
    values = "line_id, status, sale_amount, commission_amount, currency, event_date"
    changed = "line_id, new_status, new_sale_amount, new_commission_amount, currency, event_date"
    with duckdb.connect(str(tmp_path / "l.duckdb"), read_only=True) as con:
        ledger = con.execute(f"SELECT {values} FROM commissions ORDER BY ALL").fetchall()
        changes = con.execute(
            f"SELECT {changed} FROM commission_changes WHERE change = 'inserted' ORDER BY ALL"
        ).fetchall()
    assert len(ledger) == 28 + len(extra)
    assert changes == ledger


def test_pydantic_rejecting_a_line_duckdb_read_as_plain_sends_the_report_to_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"python": 0}
    real_reader = ingest_steps.iter_raw_batches

    def counted(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls["python"] += 1
        return real_reader(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_steps, "iter_raw_batches", counted)
    monkeypatch.setenv("PASSIVE_WORKERS", "0")  # validate in-process, where the patch applies
    monkeypatch.setattr(amazon_scan, "cells_fail", lambda cells: "injected")
    report = tmp_path / "plain.csv"
    report.write_text("\n".join([TITLE, HEADER, GOOD, GOOD]) + "\n", encoding="utf-8")
    _load(report, tmp_path / "l.duckdb", monkeypatch, scan=True)
    lines, rejects, _ = _state(tmp_path / "l.duckdb")
    assert calls["python"] == 1
    assert len(lines) == 2 and rejects == []


def test_a_failure_in_the_scanned_load_leaves_the_ledger_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "l.duckdb"
    first = tmp_path / "first.csv"
    first.write_text("\n".join([TITLE, HEADER, GOOD]) + "\n", encoding="utf-8")
    _load(first, db, monkeypatch, scan=True)
    before = _state(db)

    def failing(*args: object, **kwargs: object) -> None:
        raise MemoryError("injected while DuckDB read the report")

    monkeypatch.setattr(ingest_steps, "stage_scan", failing)
    second = tmp_path / "second.csv"
    second.write_text("\n".join([TITLE, HEADER, GOOD, GOOD, GOOD]) + "\n", encoding="utf-8")
    with pytest.raises(MemoryError):
        _load(second, db, monkeypatch, scan=True)
    assert _state(db)[:2] == before[:2]


def _repeats(folder: Path) -> Path:
    days = [GOOD.replace("2025-01-05", f"2025-01-{day:02d}") for day in range(1, 29)]
    # Every line three times, scattered: each key's copies must be numbered 1..3 whatever
    # pass its key or its text falls in.
    lines = days + days[::-1] + days[5:] + days[:5]
    report = folder / "repeats.csv"
    report.write_text("\n".join([TITLE, HEADER, *lines]) + "\n", encoding="utf-8")
    return report


@pytest.mark.parametrize("scan", [True, False], ids=["duckdb-reader", "python-reader"])
def test_grouping_in_passes_gives_the_ledger_of_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan: bool
) -> None:
    report = _repeats(tmp_path)
    _load(report, tmp_path / "one.duckdb", monkeypatch, scan=scan)
    monkeypatch.setenv("PASSIVE_NUMBERING_PASS_LINES", "10")  # 84 Python rows: 9 passes
    # An 8 kB report "too big" to group as it is read; its 28 distinct lines in 6 passes.
    monkeypatch.setenv("PASSIVE_SCAN_PASS_BYTES", "1000")
    monkeypatch.setenv("PASSIVE_SCAN_PASS_LINES", "5")
    _load(report, tmp_path / "passes.duckdb", monkeypatch, scan=scan)
    one, passes = _state(tmp_path / "one.duckdb"), _state(tmp_path / "passes.duckdb")
    assert passes == one
    assert len(one[0]) == 84
    assert sorted({line[2].rsplit("-", 1)[1] for line in one[0]}) == ["1", "2", "3"]


class _OutOfMemory:
    """A ledger connection on which the one-pass read and the first grouping pass run out of
    memory, as a report with more distinct lines than the budget holds would (fault
    injected; DuckDB is real)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.one_pass_failed = False
        self.passes: list[tuple[int, int]] = []

    def execute(self, query: str, params: object = None) -> duckdb.DuckDBPyConnection:
        if "GROUP BY ALL" in query and "read_csv(" in query and not self.one_pass_failed:
            self.one_pass_failed = True
            raise duckdb.OutOfMemoryException("injected: the one pass does not fit")
        if isinstance(params, dict) and "buckets" in params:
            self.passes.append((params["buckets"], params["bucket"]))
            if len(self.passes) == 1:
                raise duckdb.OutOfMemoryException("injected: the pass does not fit")
        return self._con.execute(query, params)

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def test_grouping_that_runs_out_of_memory_is_redone_in_more_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _repeats(tmp_path)
    _load(report, tmp_path / "plain.duckdb", monkeypatch, scan=True)
    real_stage_scan = ingest_steps.stage_scan
    wrapped: list[_OutOfMemory] = []

    def stage_scan(con: duckdb.DuckDBPyConnection, *args: object) -> object:
        wrapped.append(_OutOfMemory(con))
        return real_stage_scan(wrapped[-1], *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_steps, "stage_scan", stage_scan)
    _load(report, tmp_path / "retried.duckdb", monkeypatch, scan=True)
    assert wrapped[0].one_pass_failed
    assert wrapped[0].passes == [(1, 0), (2, 0), (2, 1)]
    assert _state(tmp_path / "retried.duckdb") == _state(tmp_path / "plain.duckdb")


class _OutOfMemoryOnce:
    """A connection whose first grouping pass of each part runs out of memory (as a part too
    big for DuckDB's budget does), so stage_scan must split it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.split: list[tuple[int, int]] = []

    def execute(self, query: str, params: dict[str, object] | None = None) -> object:
        if params is not None and "part_path" in params:
            buckets, parts = params["buckets"], params["parts"]
            if buckets == parts:
                self.split.append((int(str(buckets)), int(str(params["bucket"]))))
                raise duckdb.OutOfMemoryException("a pass too big for the budget")
        return self._con.execute(query, params)


def test_staged_passes_that_run_out_of_memory_are_split_and_group_the_same(
    tmp_path: Path,
) -> None:
    from connectors.amazon import open_reports
    from warehouse.tuning import Tuning

    lines = [GOOD.replace("deals-20", f"t{i % 20}-20") for i in range(40)]
    report_path = tmp_path / "Fee-Earnings.csv"
    report_path.write_text("\n".join([TITLE, HEADER, *lines, ""]), encoding="utf-8")
    report = open_reports(report_path, marketplace="US")[0]
    tuning = Tuning(scan_pass_bytes=0, scan_pass_lines=10)

    def staged(wrap: type[_OutOfMemoryOnce] | None) -> tuple[list[tuple[object, ...]], list[int]]:
        db = duckdb.connect()
        db.execute(f"ATTACH ':memory:' AS {amazon_scan.SCAN_DB}")
        con = db if wrap is None else wrap(db)
        amazon_scan._grouped_in_passes(con, report, report_path, tuning)  # type: ignore[arg-type]
        if isinstance(con, _OutOfMemoryOnce):
            split.extend(con.split)
        rows = db.execute(f"SELECT * FROM {amazon_scan.SCAN_TABLE} ORDER BY ALL").fetchall()
        copies = db.execute(f"SELECT copies FROM {amazon_scan.SCAN_TABLE} ORDER BY ALL").fetchall()
        return rows, [int(c[0]) for c in copies]

    split: list[tuple[int, int]] = []
    whole, split_rows = staged(None), staged(_OutOfMemoryOnce)
    assert split == [(4, 0), (4, 1), (4, 2), (4, 3)]  # 40 lines in parts of 10: 4 passes
    assert split_rows == whole
    rows, copies = whole
    assert len(rows) == 20 and sum(copies) == 40  # 20 distinct lines, every line counted
