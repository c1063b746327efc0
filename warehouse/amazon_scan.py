"""DuckDB's CSV reader over plain Fee-Earnings reports: typed ledger columns plus JSON cells.

The Python reader (connectors/amazon/reports.py) parses any report it accepts, but at ~3 µs
a line. DuckDB parses the same text in C++ on every core, once: scan.sql counts identical
lines, types the ledger columns of each distinct one and marks it `plain` when those typed
values are exactly what the Python path would make of it. pydantic then checks each plain
line's cells (column by column, ScanCheck) while the load writes the ledger. Rows that are not plain
are found again in file order and go to the Python reader; `ScanUnavailableError` says when a
whole report must be read there from the start.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import logging
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.amazon import ReportFile
from connectors.amazon.marketplaces import MARKETPLACES
from schemas.amazon import COLUMN, COLUMNS, QUANTITY, SHARED, cells_fail
from warehouse.sql import SQL_DIR
from warehouse.tuning import Tuning

log = logging.getLogger(__name__)

SCAN_SQL = SQL_DIR / "amazon" / "scan.sql"
SCAN_CSV_SQL = SQL_DIR / "amazon" / "scan_csv.sql"
CELL = "cell_"  # scan.sql's column of a cell as read: `cell_price` beside the typed sale_amount
# Cells a ledger column of a plain row holds exactly (a plain row has every cell, and nullif
# is undone by coalesce): scan.sql keeps them once, and pydantic reads them from there.
_HELD = {
    c.name: f"coalesce({c.ledger}, '')" if c.empty_is_null else c.ledger
    for c in COLUMNS
    if c.kind == "text" and c.ledger is not None
}
SCAN_BATCH_ROWS = 4_096  # two of DuckDB's 2048-row vectors: batches in flight stay small (bench/)
# The SQL forms of the mapping are made from its one declaration (schemas/amazon.py COLUMNS).
_MONEY = tuple(c.name for c in COLUMNS if c.kind == "money")
_COUNTS = tuple(c.name for c in COLUMNS if c.kind == "count")
_DATES = tuple(c.name for c in COLUMNS if c.kind == "date")
_TEXTS = tuple(c.name for c in COLUMNS if c.kind == "text")
_KEY_FIELDS = tuple(c.name for c in COLUMNS)  # the content key's fields, as schemas hashes them
_SQL_TYPE = {"money": "DECIMAL(18, 4)", "count": "BIGINT", "date": "DATE"}
# Every character Python's str.isspace() accepts (pydantic's strip removes a subset of them;
# tests/unit/test_scan_sql_spelling.py checks the list): a text cell that starts or ends with
# one is stripped by the model, so it is not plain here.
_SPACE = (
    r"[\x{09}-\x{0d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
# A cell holding a line break is not plain either: a plain row is exactly one physical line,
# so the lines the scan read can be counted against the lines the file holds (pipeline.py).
# Nor is one holding a NUL byte: the model rejects it (schemas/amazon.py).
_EDGE_SPACE = rf"(^|\x{{01}}){_SPACE}|{_SPACE}(\x{{01}}|$)|[\r\n\x{{00}}]"
_PLAIN_MONEY = r"-?[0-9]{1,14}(\.[0-9]{1,4})?"  # DECIMAL(18,4) holds it without rounding
_PLAIN_COUNT = r"-?[0-9]{1,9}"  # the difference of two still fits INTEGER
_GROUPED_MONEY = r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?"  # `1,234.56`, as normalise_dot_number
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_SHAPED = (*_MONEY, *_COUNTS, *_DATES)  # the cells a plain row must spell exactly so
_SHAPES = "\x01".join(
    (
        *(_PLAIN_MONEY for _ in _MONEY),
        *(_PLAIN_COUNT for _ in _COUNTS),
        *(_ISO_DATE for _ in _DATES),
    )
)


class ScanUnavailableError(Exception):
    """DuckDB's reader cannot vouch for this report: read it with the Python reader."""


def scannable(report: ReportFile) -> bool:
    """Reports scan.sql reads exactly like the Python reader: UTF-8 text, dot decimals, every
    line ended alike by LF or CRLF.

    Decimal-comma stores (DE, FR, IT, ES) and UTF-16 re-saves stay with the Python reader, which
    normalises them (marketplaces.py).
    """
    market = MARKETPLACES[report.marketplace]
    # With `skip` and strict_mode, DuckDB 1.5 loaded no line of a report whose title ended in
    # LF above CRLF lines, and cut a cell's first letter after a title in CRLF and a header in
    # CR (issue 10; tests/integration/test_report_refusals.py): only uniform line ends scan.
    uniform = report.line_ends in ("LF", "CRLF", "")
    return report.encoding == "utf-8-sig" and not market.decimal_comma and uniform


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Where scan.sql's rows come from (its {rows} slot).
Rows = Literal["read", "staged", "each"]


@cache
def scan_sql(
    columns: tuple[str, ...], positions: tuple[int, ...], width: int, rows: Rows = "read"
) -> str:
    """scan.sql for a header: which cell holds which column, and how many cells a row has.

    `rows`: "read" groups identical lines as DuckDB reads the file; "staged" groups the cells
    stage_scan staged in part files first: pass `$bucket` of `$buckets` (by the row's hash)
    reads the part `$part_path`, one of `$parts`, which divides `$buckets`; "each" gives
    every line as a row of its own, copies 1 (in file order on a connection that keeps it).
    """
    cell = dict(zip(columns, (f"c{p}" for p in positions), strict=True))
    normalised = []
    for name in columns:
        raw = cell[name]
        if name in _MONEY:
            # The regex only where a comma could make it match: most cells have none.
            expr = (
                f"CASE WHEN contains({raw}, ',') AND regexp_full_match({raw}, {_q(_GROUPED_MONEY)})"
                f" THEN replace({raw}, ',', '') ELSE {raw} END"
            )
        elif name in _DATES:
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
    texts = [c for c in columns if c in _TEXTS]
    checks = [
        "_present",
        "asin <> ''",
        f"NOT regexp_matches(concat_ws(chr(1), {', '.join(texts)}), {_q(_EDGE_SPACE)})",
        # Python's csv refuses a cell past its field limit: such a line is the Python
        # reader's to refuse (reports.py), not DuckDB's to load.
        f"length(concat_ws(chr(1), {', '.join(texts)})) <= {csv.field_size_limit()}",
        # The number and date cells in one regex call, not six (a cell holding chr(1) adds a
        # part, so it cannot match): every one of them is a required column.
        f"regexp_full_match(concat_ws(chr(1), {', '.join(_SHAPED)}), {_q(_SHAPES)})",
        # A return that earns is a reject (schemas/amazon.py returned_for_money): not plain.
        "NOT (TRY_CAST(items_shipped AS BIGINT) < TRY_CAST(returns AS BIGINT)"
        " AND (TRY_CAST(revenue AS DECIMAL(18, 4)) > 0"
        " OR TRY_CAST(ad_fees AS DECIMAL(18, 4)) > 0))",
        "TRY_CAST(date_shipped AS DATE) BETWEEN $period_start AND $period_end",
    ]

    def key_part(name: str) -> str:
        # As schemas/amazon.py key_text spells the typed value (an absent column as "").
        if name not in columns:
            return "''"
        if name in _MONEY or name in _COUNTS:
            return f"TRY_CAST({name} AS {_SQL_TYPE[COLUMN[name].kind]})::VARCHAR"
        return name

    read, cells = csv_sql(width), _cells(width)
    sources: dict[Rows, str] = {
        "read": f"SELECT *, count(*) AS copies FROM {read} GROUP BY ALL",
        "staged": f"SELECT {cells}, count(*) AS copies FROM read_parquet($part_path)"
        f" WHERE $buckets = $parts OR hash({cells}) % $buckets = $bucket GROUP BY ALL",
        "each": f"SELECT *, 1 AS copies FROM {read}",
    }
    return SCAN_SQL.read_text(encoding="utf-8").format(
        rows=sources[rows],
        cells=", ".join(f"{name} AS {CELL}{name}" for name in columns if name not in _HELD),
        plain=" AND ".join(checks),
        key_parts=", ".join(key_part(n) for n in _KEY_FIELDS),
        normalised=", ".join(normalised),
        ledger=_LEDGER_SQL,
    )


def _ledger_sql() -> str:
    """The ledger columns that vary by line, typed from the normalised cells (COLUMNS)."""
    parts = []
    for column in COLUMNS:
        if column.ledger is None:
            continue
        if column.kind in _SQL_TYPE:
            expr = f"TRY_CAST({column.name} AS {_SQL_TYPE[column.kind]})"
        elif column.empty_is_null:
            expr = f"nullif({column.name}, '')"
        else:
            expr = column.name
        parts.append(f"{expr} AS {column.ledger}")
    items, returns = QUANTITY
    parts.append(
        f"TRY_CAST(TRY_CAST({items} AS BIGINT) - TRY_CAST({returns} AS BIGINT) AS INTEGER)"
        " AS quantity"
    )
    return ",\n    ".join(parts)


_LEDGER_SQL = _ledger_sql()


def _cells(width: int) -> str:
    return ", ".join(f"c{i}" for i in range(width + 1))


@cache
def csv_sql(width: int) -> str:
    """scan_csv.sql for rows of `width` cells (plus the spare one that shows a long row)."""
    struct = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width + 1))
    return SCAN_CSV_SQL.read_text(encoding="utf-8").format(columns="{" + struct + "}")


def _width(report: ReportFile) -> int:
    positions = report.positions or tuple(range(len(report.columns)))
    return max(report.header_width, max(positions) + 1)


def _query(report: ReportFile, path: Path, rows: Rows = "read") -> tuple[str, dict[str, object]]:
    positions = report.positions or tuple(range(len(report.columns)))
    query = scan_sql(report.columns, positions, _width(report), rows)
    return query, _used(query, _params(report, path))


def _params(report: ReportFile, path: Path) -> dict[str, object]:
    return {
        "path": str(path),
        "skip": report.header_line,
        "delimiter": report.delimiter,
        "period_start": report.period_start,
        "period_end": report.period_end,
    }


def _used(query: str, params: dict[str, object]) -> dict[str, object]:
    """The named parameters a query uses (DuckDB refuses any it does not)."""
    return {key: value for key, value in params.items() if f"${key}" in query}


# The scan's rows (distinct lines, or every line), in an in-memory database attached to the
# ledger's: unlike a TEMP table it is visible to a second cursor, so pydantic reads the cells
# while the load's connection writes the ledger; like one, it spills to `<ledger>.tmp` past
# the memory budget.
SCAN_DB = "passive_scan"
SCAN_TABLE = f"{SCAN_DB}.lines"
# A report is first read in one pass (grouped as DuckDB reads it, or line by line) if it is
# up to Tuning.scan_pass_bytes: grouping fits the load's 128MB budget for the 617k distinct
# lines of the 1M-line bench report and the 902k of the 2M-line one, and runs out of memory
# within a second for 1.5M (the 10M-line one) or a million all-distinct lines (bench/). Then
# the cells are staged once and grouped in passes of about Tuning.scan_pass_lines distinct
# lines; a pass that runs out of memory is redone in twice as many passes, up to
# Tuning.max_scan_passes.


@dataclass(frozen=True)
class ScanCounts:
    """What the scan staged: lines by kind, and the plain rows pydantic must check (one per
    distinct text, or per line when the scan read line by line)."""

    plain_lines: int
    other_lines: int
    plain_texts: int


def stage_scan(
    con: duckdb.DuckDBPyConnection, report: ReportFile, path: Path, account: str, tuning: Tuning
) -> ScanCounts:
    """DuckDB reads the report into SCAN_TABLE, one row per distinct line with its `copies`
    (or, when its first lines hardly repeat, one row per line), and adds the plain ones to the
    load's `_load_stage` view (stage_create.sql).

    Rows go in whatever order DuckDB's threads finish them (the load turns insertion order
    off): only identical lines share a key, and which copy gets which number cannot change a
    ledger value.
    """
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SCAN_DB}")
    try:
        if not _read_in_one_pass(con, report, path, tuning):
            _grouped_in_passes(con, report, path, tuning)
    except duckdb.Error as exc:
        raise ScanUnavailableError(f"DuckDB cannot read it ({_first_line(exc)})") from None
    cells = ", ".join(CELL + name for name in report.columns if name not in _HELD)
    typed = {"event_at": "TIMESTAMPTZ"}  # the other shared NULLs are text
    shared = {
        **{
            name: _q(value) if value is not None else f"NULL::{typed.get(name, 'VARCHAR')}"
            for name, value in SHARED.items()
        },
        "account": _q(account),
        "currency": _q(report.currency),
        # One number per scan row, below every line number the Python reader's rows carry:
        # load.py numbers a key's repeats by it when the scan read every line as a row.
        "source_line": "-1 - rowid",
    }
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _load_stage AS FROM _load_rows UNION ALL BY NAME"
        f" SELECT * EXCLUDE ({cells}, plain),"
        f" {', '.join(f'{value} AS {name}' for name, value in shared.items())}"
        f" FROM {SCAN_TABLE} WHERE plain"
    )
    row = con.execute(
        "SELECT coalesce(sum(copies) FILTER (WHERE plain), 0),"
        " coalesce(sum(copies) FILTER (WHERE NOT plain), 0), count(*) FILTER (WHERE plain)"
        f" FROM {SCAN_TABLE}"
    ).fetchone()
    assert row is not None
    counts = ScanCounts(int(row[0]), int(row[1]), int(row[2]))
    if counts.other_lines > tuning.max_leftovers:
        raise ScanUnavailableError(f"more than {tuning.max_leftovers:,} lines are not plain")
    return counts


def _read_in_one_pass(
    con: duckdb.DuckDBPyConnection, report: ReportFile, path: Path, tuning: Tuning
) -> bool:
    """One pass over the file, grouping as it reads (or, when its first lines hardly repeat,
    every line a row of its own): False if the report is too big for it."""
    size = path.stat().st_size
    if size > tuning.scan_pass_bytes:
        return False
    each = (
        size <= _EACH_MAX_BYTES
        and _repeated_share(con, report, path) < tuning.scan_repeats_to_group
    )
    query, params = _query(report, path, "each" if each else "read")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {SCAN_TABLE} AS {query}", params)
    except duckdb.OutOfMemoryException:
        log.info("%s: too many distinct lines to group in one pass", report.name)
        return False
    return True


# Grouping identical lines as they are read pays when many repeat (each distinct text is then
# typed, hashed and checked once: the bench's repeating million holds 617k) and costs when few
# do: 1.35 s of CPU to group a million all-distinct lines into a million groups (bench/). A
# report's first lines tell which it is (bench/: the repeating report repeats 37% of its first
# 20,000 lines and 38% of all; the real-shaped one 3.3% and 3.0%; the distinct one none).
# Read line by line, a report's few repeats are numbered after (load.py), by row.
_SAMPLE_LINES = 20_000
# Line by line, the scan table holds every line: past this size the grouping (or the staged
# passes) keep it within the memory budget.
_EACH_MAX_BYTES = 256 * 1024 * 1024


def _repeated_share(con: duckdb.DuckDBPyConnection, report: ReportFile, path: Path) -> float:
    """The share of a report's first lines that repeat an earlier one (0 for no lines)."""
    width = _width(report)
    read = csv_sql(width)
    row = con.execute(
        f"SELECT count(*), count(DISTINCT hash({_cells(width)}))"
        f" FROM (SELECT * FROM {read} LIMIT {_SAMPLE_LINES})",
        _used(read, _params(report, path)),
    ).fetchone()
    lines, distinct = (int(row[0]), int(row[1])) if row else (0, 0)
    return (lines - distinct) / lines if lines else 0.0


def _grouped_in_passes(
    con: duckdb.DuckDBPyConnection, report: ReportFile, path: Path, tuning: Tuning
) -> None:
    """Stage the raw cells once, split by the row's hash into part files, then group each part
    in a pass of its own that fits the memory budget.

    A pass reads only its part. Before, every pass filtered all the staged cells, so the time
    grew with the square of the lines (bench/, 10M all-distinct lines: 929 s in 20 passes,
    against ~6 s for 1M); sorting the staged table by part instead ran out of memory at 10M
    lines in the 128MB budget. The parts are counted from the report's lines (at most that
    many are distinct), so a report that repeats lines gets smaller passes, not more reading;
    a part that runs out of memory is grouped again in twice as many passes.
    """
    width = _width(report)
    read = csv_sql(width)
    lines = report.data_lines if report.data_lines >= 0 else path.stat().st_size // 64
    parts = max(1, -(-lines // tuning.scan_pass_lines))
    with _part_folder(con) as folder:
        con.execute(
            f"COPY (SELECT *, (hash({_cells(width)}) % $parts)::USMALLINT AS part FROM {read})"
            f" TO {_q(str(folder))} (FORMAT parquet, PARTITION_BY (part), COMPRESSION snappy)",
            {**_used(read, _params(report, path)), "parts": parts},
        )
        query, params = _query(report, path, "staged")

        def group(buckets: int, bucket: int) -> None:
            part = folder / f"part={bucket % parts}"
            if not part.exists():
                return  # no line hashed into this part
            at = {**_pass(params, parts, buckets, bucket), "part_path": f"{part}/*.parquet"}
            verb = "INSERT INTO" if made else "CREATE OR REPLACE TABLE"
            # One statement per pass, so a pass that runs out of memory leaves nothing behind.
            try:
                con.execute(f"{verb} {SCAN_TABLE} {'' if made else 'AS '}{query}", at)
                made.append(bucket)
            except duckdb.OutOfMemoryException:
                if buckets >= tuning.max_scan_passes * parts:
                    # The Python reader's load grows the budget where it must (load.py).
                    raise ScanUnavailableError(
                        f"grouping its lines ran out of memory in {buckets} passes"
                    ) from None
                log.info(
                    "%s: grouping pass %d of %d ran out of memory", report.name, bucket, buckets
                )
                group(buckets * 2, bucket)
                group(buckets * 2, bucket + buckets)

        made: list[int] = []
        for part in range(parts):
            group(parts, part)
        if not made:  # no data line: the scan's columns, no row
            empty, at = _query(report, path, "read")
            con.execute(f"CREATE OR REPLACE TABLE {SCAN_TABLE} AS {empty} LIMIT 0", at)


@contextlib.contextmanager
def _part_folder(con: duckdb.DuckDBPyConnection) -> Iterator[Path]:
    """A fresh folder for the part files, in DuckDB's spill folder (`<ledger>.tmp`) when it has
    one, removed afterwards whatever happens."""
    row = con.execute("SELECT current_setting('temp_directory')").fetchone()
    spill = Path(str(row[0])) if row and row[0] else None
    if spill is not None:
        spill.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="passive-scan-", dir=spill))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pass(params: dict[str, object], parts: int, buckets: int, bucket: int) -> dict[str, object]:
    return {**params, "parts": parts, "buckets": buckets, "bucket": bucket}


def scanned_cells(
    con: duckdb.DuckDBPyConnection, columns: tuple[str, ...]
) -> Iterator[pa.RecordBatch]:
    """The plain distinct lines' cells (stage_scan's SCAN_TABLE), one Arrow column per report
    column, read on a cursor of its own one batch ahead, so pydantic can check them while
    `con` writes the ledger.

    The cursor and its query start here, in the caller's thread, before `con` moves on.
    """
    cursor = con.cursor()
    cells = ", ".join(f"{_HELD.get(name, CELL + name)} AS {name}" for name in columns)
    try:
        reader = cursor.execute(f"SELECT {cells} FROM {SCAN_TABLE} WHERE plain").to_arrow_reader(
            SCAN_BATCH_ROWS
        )
    except duckdb.Error:
        cursor.close()
        raise
    return _prefetched(reader, cursor)


def drop_scan(con: duckdb.DuckDBPyConnection) -> None:
    """Free what stage_scan kept (call once nothing reads SCAN_TABLE any more)."""
    with contextlib.suppress(duckdb.Error):
        con.execute(f"DROP TABLE IF EXISTS {SCAN_TABLE}")


def not_plain_rows(
    report: ReportFile, path: Path, *, lines: int
) -> dict[int, tuple[str | None, str | None]]:
    """The ordinal, ASIN and Tracking ID of every row that is not plain, found in a second read
    of the file in file order (only when stage_scan counted such rows: the Python reader
    decides them, and finds them by ordinal). `lines` is how many rows the scan counted."""
    query, params = _query(report, path, "each")
    reader_db = duckdb.connect(config={"preserve_insertion_order": True, "threads": 1})
    found: dict[int, tuple[str | None, str | None]] = {}
    rows = 0
    try:
        reader = reader_db.execute(
            f"SELECT plain, CASE WHEN NOT plain THEN product_id END AS asin,"
            f" CASE WHEN NOT plain THEN tracking_id END AS tracking_id FROM ({query})",
            params,
        ).to_arrow_reader(SCAN_BATCH_ROWS)
        for batch in reader:
            plain = batch.column(0)
            if plain.false_count:
                at = pc.indices_nonzero(pc.invert(plain)).to_pylist()
                asins = batch.column(1).take(at).to_pylist()
                trackings = batch.column(2).take(at).to_pylist()
                for index, asin, tracking in zip(at, asins, trackings, strict=True):
                    found[rows + index] = (asin, tracking)
            rows += batch.num_rows
    except (duckdb.Error, pa.ArrowException) as exc:
        raise ScanUnavailableError(f"DuckDB cannot read it ({_first_line(exc)})") from None
    finally:
        reader_db.close()
    if rows != lines:
        raise ScanUnavailableError(f"DuckDB read {lines} rows, then {rows} in file order")
    return found


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


# --- pydantic beside the scan -----------------------------------------------------------------
# A line DuckDB marks plain must pass pydantic (schemas/amazon.py, cells_fail), else the
# report is read in Python from the start. Lines that are not plain (rejects, fillers, odd
# spellings) are decided by the Python reader and validator (flows/amazon_validation.py),
# exactly as if the whole report had been read that way.


def _cells_fail(batch: pa.RecordBatch) -> str | None:
    """cells_fail over one batch's columns, each column's distinct cells once, with the cyclic
    GC paused: validation makes only acyclic objects, and letting the GC walk them cost ~40% of
    validation time in the profile.

    A cell's verdict is a function of its text and its column alone (cells_fail: no rule across
    fields), so a column's distinct cells pass exactly when all its cells do. A report repeats
    cells far more than lines (the all-distinct bench report: 365 dates, 10 prices, 5 tracking
    ids per million lines): 1M lines 2.9 s -> 0.8 s of CPU (bench/). A failure is looked up
    again over every cell, so it names the batch's row, as before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        for column in batch.columns:
            if column.null_count:
                raise ValueError("scan.sql gave a plain line a NULL cell")
        columns = dict(zip(batch.schema.names, batch.columns, strict=True))
        failure = cells_fail({name: pc.unique(c).to_pylist() for name, c in columns.items()})
        if failure is None:
            return None
        return cells_fail({name: c.to_pylist() for name, c in columns.items()}) or failure
    finally:
        if enabled:
            gc.enable()


class ScanCheck:
    """pydantic over the cells of every plain line DuckDB scanned, in a thread of its own
    that lives as long as the check (a context manager; `close` stops it early).

    A grouped scan keeps each distinct line once (with how many copies the report holds), so
    each distinct text is validated once: validation is a function of the text alone. The lines
    that were not plain are validated by the Python path (decide_leftovers). The verdict is
    only needed before the load commits: `confirm` then raises ScanUnavailableError if
    pydantic rejects a plain line, or did not see every one.
    """

    def __init__(self, rows: Iterator[pa.RecordBatch], columns: tuple[str, ...]) -> None:
        self._batches = rows
        self._columns = columns
        self._stop = threading.Event()
        self._failure: str | None = None
        self._rows = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="passive-validate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for batch in self._batches:
                if self._stop.is_set():
                    return
                # In this thread, not the worker processes: shipping the cells to them cost more
                # than it saved while DuckDB keeps both cores busy (bench/: 5.9 s -> 5.6 s).
                if tuple(batch.schema.names) != self._columns:
                    raise ValueError(f"scan.sql gave the cells of {batch.schema.names}")
                self._failure = self._failure or _cells_fail(batch)
                self._rows += batch.num_rows
        except BaseException as exc:
            self._error = exc
        finally:
            close = getattr(self._batches, "close", None)
            if close is not None:
                close()

    def confirm(self, texts: int) -> None:
        """pydantic must have accepted all `texts` distinct plain lines DuckDB staged."""
        self._thread.join()
        if self._error is not None:
            if isinstance(self._error, ScanUnavailableError):
                raise self._error
            raise ScanUnavailableError(f"validation failed ({self._error})") from self._error
        if self._failure is not None:
            raise ScanUnavailableError(
                f"pydantic rejects a line DuckDB read as plain: {self._failure}"
            )
        if self._rows != texts:
            raise ScanUnavailableError(
                f"DuckDB staged {texts} plain lines, pydantic saw {self._rows}"
            )

    def close(self) -> None:
        """Stop early (the load failed); safe to call after confirm."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ScanCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
