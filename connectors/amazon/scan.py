"""DuckDB's CSV reader over plain Fee-Earnings reports: typed ledger columns plus JSON cells.

The Python reader (reports.py) parses any report it accepts, but at ~3 µs a line. DuckDB
parses the same text in C++ on every core; scan.sql also types the ledger columns and marks
each row `plain` when those typed values are exactly what the Python path would make of it.
Rows that are not plain, and whole reports DuckDB cannot follow, go to the Python reader:
`ScanUnavailableError` says when a report must be read there from the start.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from .columns import CANONICAL_COLUMNS, NUMERIC_COLUMNS
from .marketplaces import MARKETPLACES
from .reports import ReportFile, _open_binary, _open_text

SCAN_SQL = Path(__file__).with_name("scan.sql")
SCAN_ENV = "PASSIVE_SCAN"  # `0`: read every report with the Python reader
SCAN_BATCH_ROWS = 32_768  # a multiple of DuckDB's 2048-row vectors
# Lines the Python reader must decide before the scan stops paying off: past this many, the
# whole report is read in Python (and the leftovers' cells need not be held).
MAX_LEFTOVERS = 50_000

_MONEY = ("price", "revenue", "ad_fees")
_COUNTS = ("items_shipped", "returns")
_KEY_FIELDS = CANONICAL_COLUMNS  # the content key's fields, as schemas/amazon.py hashes them
# Every character Python's str.isspace() accepts (pydantic's strip removes a subset of them;
# tests/unit/test_scan_sql_spelling.py checks the list): a text cell that starts or ends with
# one is stripped by the model, so it is not plain here.
_SPACE = (
    r"[\x{09}-\x{0d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
_EDGE_SPACE = rf"(^|\x{{01}}){_SPACE}|{_SPACE}(\x{{01}}|$)"
_PLAIN_MONEY = r"-?[0-9]{1,14}(\.[0-9]{1,4})?"  # DECIMAL(18,4) holds it without rounding
_PLAIN_COUNT = r"-?[0-9]{1,9}"  # the difference of two still fits INTEGER
_GROUPED_MONEY = r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?"  # `1,234.56`, as normalise_dot_number
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


class ScanUnavailableError(Exception):
    """DuckDB's reader cannot vouch for this report: read it with the Python reader."""


def scannable(report: ReportFile) -> bool:
    """Reports scan.sql reads exactly like the Python reader: UTF-8 text, dot decimals.

    Decimal-comma stores (DE, FR, IT, ES) and UTF-16 re-saves stay with the Python reader, which
    normalises them (marketplaces.py).
    """
    if os.environ.get(SCAN_ENV, "1").strip() == "0":
        return False
    market = MARKETPLACES[report.marketplace]
    return report.encoding == "utf-8-sig" and not market.decimal_comma


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@cache
def scan_sql(columns: tuple[str, ...], positions: tuple[int, ...], width: int) -> str:
    """scan.sql for a header: which cell holds which column, and how many cells a row has."""
    cell = dict(zip(columns, (f"c{p}" for p in positions), strict=True))
    normalised = []
    for name in columns:
        raw = cell[name]
        if name in _MONEY:
            expr = (
                f"CASE WHEN regexp_full_match({raw}, {_q(_GROUPED_MONEY)})"
                f" THEN replace({raw}, ',', '') ELSE {raw} END"
            )
        elif name == "date_shipped":
            # normalise_shipped_date: `2024-12-18 00:00:00` -> `2024-12-18`
            expr = (
                f"CASE WHEN length({raw}) > 10 AND substr({raw}, 5, 1) = '-'"
                f" AND substr({raw}, 11, 1) IN (' ', 'T') THEN left({raw}, 10) ELSE {raw} END"
            )
        else:
            expr = raw
        normalised.append(f"{expr} AS {name}")
    present = " AND ".join([*(f"c{i} IS NOT NULL" for i in range(width)), f"c{width} IS NULL"])
    normalised.append(f"({present}) AS _present")
    texts = [c for c in columns if c not in NUMERIC_COLUMNS and c != "date_shipped"]
    checks = [
        "_present",
        "asin <> ''",
        f"NOT regexp_matches(concat_ws(chr(1), {', '.join(texts)}), {_q(_EDGE_SPACE)})",
        *(f"regexp_full_match({m}, {_q(_PLAIN_MONEY)})" for m in _MONEY),
        *(f"regexp_full_match({c}, {_q(_PLAIN_COUNT)})" for c in _COUNTS),
        f"regexp_full_match(date_shipped, {_q(_ISO_DATE)})",
        "TRY_CAST(date_shipped AS DATE) BETWEEN $period_start AND $period_end",
    ]

    def key_part(name: str) -> str:
        if name not in columns:
            return "''"
        if name in _MONEY:
            return f"TRY_CAST({name} AS DECIMAL(18, 4))::VARCHAR"
        if name in _COUNTS:
            return f"TRY_CAST({name} AS BIGINT)::VARCHAR"
        return name

    struct = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width + 1))
    return SCAN_SQL.read_text(encoding="utf-8").format(
        json_cells=", ".join(columns),
        plain=" AND ".join(checks),
        key_parts=", ".join(key_part(n) for n in _KEY_FIELDS),
        normalised=", ".join(normalised),
        columns="{" + struct + "}",
        **{name: name for name in _KEY_FIELDS if name not in ("seller", "direct")},
    )


def _width(report: ReportFile) -> int:
    positions = report.positions or tuple(range(len(report.columns)))
    return max(report.header_width, max(positions) + 1)


@contextlib.contextmanager
def scan_source(report: ReportFile) -> Iterator[Path]:
    """A plain file DuckDB can read: the report itself, or its zip member copied out."""
    if report.member is None:
        yield report.source
        return
    with tempfile.TemporaryDirectory(prefix="passive-scan-") as folder:
        target = Path(folder) / "report.csv"
        with (
            _open_binary(report.source, report.member, report.name) as src,
            target.open("wb") as out,
        ):
            shutil.copyfileobj(src, out, 1 << 20)
        yield target


def _query(report: ReportFile, path: Path, account: str) -> tuple[str, dict[str, object]]:
    positions = report.positions or tuple(range(len(report.columns)))
    params: dict[str, object] = {
        "path": str(path),
        "skip": report.header_line,
        "delimiter": report.delimiter,
        "account": account,
        "currency": report.currency,
        "period_start": report.period_start,
        "period_end": report.period_end,
    }
    return scan_sql(report.columns, positions, _width(report)), params


def stage_scan(con: duckdb.DuckDBPyConnection, report: ReportFile, path: Path, account: str) -> int:
    """DuckDB reads the report and puts its plain rows into the load's `_load_stage` table.

    The rows go in whatever order DuckDB's threads finish them (the load turns insertion
    order off; keeping it cost a second core): only identical lines share a key, and which
    copy gets which number cannot change a ledger value. Returns how many rows were staged.
    """
    query, params = _query(report, path, account)
    try:
        staged = con.execute(
            f"INSERT INTO _load_stage SELECT * EXCLUDE (cells_json, plain), 0 AS source_line"
            f" FROM ({query}) WHERE plain",
            params,
        ).fetchone()
    except duckdb.Error as exc:
        raise ScanUnavailableError(f"DuckDB cannot read it ({_first_line(exc)})") from None
    return int(staged[0]) if staged else 0


def cell_batches(report: ReportFile, path: Path, account: str) -> Iterator[pa.RecordBatch]:
    """Every row in file order: its cells as JSON, `plain`, and the ASIN and Tracking ID
    cells of rows that are not plain (to find them again in the file).

    A second, streaming read of the file in an in-memory DuckDB of its own (whose row order
    follows the file), read one batch ahead in a thread (DuckDB releases the GIL), so pydantic
    validates while the ledger's DuckDB stages the rows.
    """
    query, params = _query(report, path, account)
    reader_db = duckdb.connect(config={"preserve_insertion_order": True, "threads": 1})
    try:
        reader = reader_db.execute(
            "SELECT cells_json, plain, CASE WHEN NOT plain THEN product_id END AS asin,"
            f" CASE WHEN NOT plain THEN tracking_id END AS tracking_id FROM ({query})",
            params,
        ).to_arrow_reader(SCAN_BATCH_ROWS)
    except duckdb.Error as exc:
        reader_db.close()
        raise ScanUnavailableError(f"DuckDB cannot read it ({_first_line(exc)})") from None
    yield from _prefetched(reader, reader_db)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_DONE = object()


def _prefetched(
    reader: pa.RecordBatchReader, cursor: duckdb.DuckDBPyConnection
) -> Iterator[pa.RecordBatch]:
    """Batches read one ahead in a thread; the thread stops when the consumer does."""
    ready: queue.Queue[object] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in reader:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="passive-scan", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, duckdb.Error | pa.ArrowException):
                raise ScanUnavailableError(f"DuckDB cannot read it ({_first_line(item)})")
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, pa.RecordBatch)
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                ready.get_nowait()
        with contextlib.suppress(duckdb.Error):
            cursor.interrupt()
        thread.join()
        cursor.close()


def data_lines(report: ReportFile, ordinals: set[int]) -> dict[int, tuple[int, str]]:
    """The physical line number and text of the data rows DuckDB numbered `ordinals`.

    DuckDB skips empty lines and numbers the rest in order; a quoted line break would make
    one row span lines, so then the numbering cannot be followed (ScanUnavailableError).
    """
    found: dict[int, tuple[int, str]] = {}
    wanted = max(ordinals, default=-1)
    ordinal = -1
    with _open_text(report.source, report.member, report.name, report.encoding) as text:
        for line_no, line in enumerate(text, start=1):
            if line_no <= report.header_line:
                continue
            if '"' in line and line.count('"') & 1:
                raise ScanUnavailableError("a quoted field spans lines")
            if not line.rstrip("\r\n"):
                continue
            ordinal += 1
            if ordinal in ordinals:
                found[ordinal] = (line_no, line)
                if ordinal == wanted:
                    break
    if len(found) != len(ordinals):
        raise ScanUnavailableError("DuckDB read rows the file's lines do not hold")
    return found
