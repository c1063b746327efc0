"""Amazon Fee-Earnings rows: the raw-row model and its mapping to canonical ledger lines."""

from __future__ import annotations

import atexit
import gc
import hashlib
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from functools import cache, partial
from multiprocessing.pool import AsyncResult, Pool
from operator import attrgetter, itemgetter
from typing import Annotated, Any, overload

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from connectors.amazon import (
    CANONICAL_COLUMNS,
    RawBatch,
    RawChunk,
    RawLine,
    ReportFile,
    parse_chunk,
)
from connectors.amazon.reports import ParsedChunk
from connectors.amazon.scan import ScanUnavailableError, data_lines
from schemas.commission import CommissionLine
from schemas.validation import (
    LEDGER_ARROW_SCHEMA,
    BatchValidator,
    ColumnarBatch,
    Reject,
    ValidatedBatch,
    format_errors,
    lines_to_table,
    map_valid,
)

NETWORK = "amazon"
# The content key's fields, in the canonical column order (connectors/amazon/scan.py hashes the
# same order in SQL): reordering them would change every line id already in a ledger.
LINE_ID_FIELDS: tuple[str, ...] = CANONICAL_COLUMNS
_SEPARATOR = "\x1f"  # ASCII unit separator: csv cells cannot carry it as meaningful text
_MONEY_LIMIT = Decimal("1e14")  # DECIMAL(18,4) holds 14 integer digits

# Bounded before CommissionLine quantizes: Decimal.quantize raises InvalidOperation (not a
# ValueError) for huge values, which would escape the validation boundary.
RawMoney = Annotated[Decimal, Field(allow_inf_nan=False, gt=-_MONEY_LIMIT, lt=_MONEY_LIMIT)]


class AmazonEarningsRow(BaseModel):
    """One Fee-Earnings data row as read (strings in, typed values out; money as Decimal)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str
    name: str
    asin: str = Field(min_length=1)
    seller: str | None = None
    tracking_id: str = Field(min_length=1)
    date_shipped: date  # the reader already cut `YYYY-MM-DD HH:MM:SS` and legacy dates to ISO
    price: RawMoney
    items_shipped: int
    returns: int
    revenue: RawMoney
    ad_fees: RawMoney
    device_type_group: str | None = None
    direct: str | None = None

    # Only the per-model path runs this: the reader sends a row holding a NUL byte there
    # (connectors/amazon/reports.py parse_chunk) and DuckDB's reader never calls one plain.
    @field_validator(
        "category", "name", "asin", "seller", "tracking_id", "device_type_group", "direct",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _no_nul_byte(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("holds a NUL byte (\\x00), which no report text has")
        return value


_LINE_ID_VALUES = attrgetter(*LINE_ID_FIELDS)
_KEY_QUANTUM = Decimal("0.0001")


def key_text(value: object) -> str:
    """One field of a line's content key, written as DuckDB writes the same typed value.

    The key is also computed in SQL (connectors/amazon/scan.sql) for lines DuckDB reads, so
    both must spell a value alike: money with exactly 4 decimals (`49.9900`, never `-0.0000`),
    dates ISO, counts as plain integers, absent text as "".
    """
    if value is None:
        return ""
    if isinstance(value, Decimal):
        fixed = value.quantize(_KEY_QUANTUM)
        return format(fixed if fixed else _KEY_QUANTUM * 0, "f")
    return str(value)


def content_key(values: Iterable[object]) -> str:
    """md5 hex of the key fields' texts joined by the unit separator (DuckDB's md5 agrees)."""
    text = _SEPARATOR.join(map(key_text, values))
    return hashlib.md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def earnings_line_id(row: AmazonEarningsRow) -> str:
    """A content key for the row: identical rows share it (the warehouse numbers repeats).

    Earnings rows carry no order or transaction id and identical rows repeat (section 1.5),
    so the key is a digest of every field after locale normalisation and typing (so `1.234,56`
    and `1234.56`, or a CSV and a TSV copy of a line, give the same key).
    """
    return content_key(_LINE_ID_VALUES(row))


def returned_for_money(quantity: int, revenue: Decimal, ad_fees: Decimal) -> bool:
    """A line that returns items yet earns: a return's Revenue and Ad Fees are negative or
    zero (affiliate-formats.md 1.5: returns are their own lines with negative amounts), so a
    negative net quantity with a positive amount is an error, not a sale."""
    return quantity < 0 and (revenue > 0 or ad_fees > 0)


def to_commission_line(
    row: AmazonEarningsRow, report: ReportFile, *, account: str
) -> CommissionLine:
    """Map a valid row to the ledger; a ship date outside the report's period is an error."""
    if not report.period_start <= row.date_shipped <= report.period_end:
        raise ValueError(
            f"date_shipped: {row.date_shipped} is outside the report period"
            f" {report.period_start} to {report.period_end}"
        )
    if returned_for_money(row.items_shipped - row.returns, row.revenue, row.ad_fees):
        raise ValueError(
            f"items_shipped: {row.items_shipped} shipped and {row.returns} returned is a return,"
            f" but Revenue {row.revenue} and Ad Fees {row.ad_fees} are not negative (a return"
            " line carries negative amounts)"
        )
    return CommissionLine(
        network=NETWORK,
        account=account,
        line_id=earnings_line_id(row),
        event_date=row.date_shipped,
        event_at=None,
        # Amazon has no status field: a shipped item is earned (affiliate-formats.md section 6).
        status="approved",
        sale_amount=row.revenue,
        commission_amount=row.ad_fees,
        currency=report.currency,
        quantity=row.items_shipped - row.returns,
        program=row.category or None,
        product_id=row.asin,
        product_name=row.name or None,
        tracking_id=row.tracking_id,
    )


_VALIDATOR = BatchValidator(AmazonEarningsRow)
# Raw models are only needed until mapped: validating in slices keeps at most this many alive
# beside the batch's RawLines and CommissionLines (memory must not grow with batch size).
_SLICE = 5_000


@overload
def validate_earnings_batch(  # type: ignore[overload-overlap]  # RawBatch is the specific case
    batch: RawBatch, report: ReportFile, *, account: str
) -> ColumnarBatch: ...


@overload
def validate_earnings_batch(
    batch: Sequence[RawLine], report: ReportFile, *, account: str
) -> ValidatedBatch: ...


def validate_earnings_batch(
    batch: RawBatch | Sequence[RawLine], report: ReportFile, *, account: str
) -> ColumnarBatch | ValidatedBatch:
    """Validate a batch of raw rows: ledger lines for the good ones, located rejects for the rest.

    Identical rows are all kept (two identical lines are two sales); returns stay as their own
    negative rows. A RawBatch straight from the reader takes the bulk path (columns, spread
    over worker processes); RawLines already in hand take the per-model path.
    """
    if isinstance(batch, RawBatch):
        return _validate_raw_batch(batch, account=account)
    return _validate_lines(batch, report, account=account)


def _validate_lines(
    batch: Sequence[RawLine], report: ReportFile, *, account: str
) -> ValidatedBatch:
    mapper = partial(to_commission_line, report=report, account=account)
    result = ValidatedBatch(records_read=len(batch))
    for start in range(0, len(batch), _SLICE):
        part = batch[start : start + _SLICE]
        good, bad = _VALIDATOR.validate([line.fields for line in part])
        mapped, unmappable = map_valid(good, mapper)
        del good
        bad.update(unmappable)
        for index, line in mapped:
            result.lines.append(line)
            result.source_lines.append(part[index].line_no)
        for index in sorted(bad):
            raw = part[index]
            result.rejects.append(Reject(f"{report.name}:{raw.line_no}", raw.raw, bad[index]))
    return result


# --- bulk path ------------------------------------------------------------------------------
# Profiling a 1M-line report showed the per-row model path spending its time in building a
# RawLine dict, an AmazonEarningsRow and a CommissionLine per row, converting those to Arrow
# with getattr per field, and in the garbage collector walking the millions of new objects.
# The bulk path validates the parsed cells of each row with one reused TypeAdapter built from
# AmazonEarningsRow's own fields (every line is still validated by pydantic, by the same
# rules), builds the ledger columns from the validated values in Arrow, and only sends rows
# that fail (or need rounding) down the per-model path, which words the rejects as before.

_ROW_CONFIG = ConfigDict(str_strip_whitespace=True)
_VALIDATE_SLICE = 5_000  # a bad row costs re-validating at most this many good ones
_PARALLEL_MIN_RECORDS = 20_000  # below this a batch is validated in-process


@cache
def _row_adapter(
    columns: tuple[str, ...], *, strip: bool = True
) -> TypeAdapter[list[tuple[Any, ...]]]:
    """A list-of-tuples validator for rows holding `columns`, typed as AmazonEarningsRow.

    Each position uses the model field's own type and constraints, so a cell passes here
    exactly when it passes the model.
    """
    fields = AmazonEarningsRow.model_fields
    items = tuple(
        Annotated[fields[c].annotation, *fields[c].metadata]
        if fields[c].metadata
        else fields[c].annotation
        for c in columns
    )
    config = _ROW_CONFIG if strip else ConfigDict()
    return TypeAdapter(list[tuple[items]], config=config)  # type: ignore[valid-type]


def _workers() -> int:
    """Validation processes: `PASSIVE_WORKERS`, else one per core up to two (the target box)."""
    configured = os.environ.get("PASSIVE_WORKERS")
    if configured:
        return max(0, int(configured))
    return min(2, os.cpu_count() or 1)


_POOL: Pool | None = None


def _pool() -> Pool | None:
    """The worker pool, forked on first use; None where fork is unavailable or unwanted."""
    global _POOL
    if _POOL is None:
        workers = _workers()
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        # Fork only a single-threaded process: another thread (Prefect's API client and log
        # shipping, a progress bar) may hold a lock that the fork would copy mid-use, and a
        # spawned pool would re-import the caller's entry module instead. So Prefect runs
        # validate on one core; the CLI starts the workers before its progress bar.
        if threading.active_count() > 1:
            return None
        # fork: the workers start in milliseconds with everything imported; they run only
        # parse/validate code, never DuckDB or the CLI's threads.
        _POOL = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init)
        atexit.register(_close_pool)
    return _POOL


def start_workers() -> bool:
    """Fork the validation workers now, while the process has one thread; True if running."""
    return _pool() is not None


def _close_pool() -> None:
    global _POOL
    if _POOL is not None:
        _POOL.close()
        _POOL.join()
        _POOL = None


def _worker_init() -> None:
    # Workers only make short-lived acyclic objects (cells, tuples, Decimals); letting the
    # cyclic GC walk them cost ~40% of validation time in the profile.
    gc.disable()


def _jobs(batch: RawBatch, account: str) -> list[tuple[ReportFile, str, RawChunk]]:
    return [(batch.report, account, chunk) for chunk in batch.chunks]


def _parallel(batch: RawBatch) -> bool:
    return len(batch.chunks) > 1 and sum(c.records for c in batch.chunks) >= _PARALLEL_MIN_RECORDS


def _validate_raw_batch(batch: RawBatch, *, account: str) -> ColumnarBatch:
    pool = _pool() if _parallel(batch) else None
    jobs = _jobs(batch, account)
    if pool is not None:
        return _collect(pool.map(_validate_chunk_job, jobs, chunksize=1))
    return _collect([_validate_chunk_job(job) for job in jobs])


# A chunk's ledger columns, rejects, rows read, and its skipped and continued lines.
_ChunkResult = tuple[pa.Table, list[Reject], int, int, int]


def validate_earnings_stream(
    batches: Iterable[RawBatch], *, account: str
) -> Iterator[ColumnarBatch]:
    """`validate_earnings_batch` over a report's batches, one batch ahead in the workers.

    While the caller stages batch N into DuckDB, the worker processes already validate batch
    N+1 (the profile showed the main process idle during validation and the workers idle
    during staging). At most two batches are in flight, so memory stays flat.
    """
    pending: AsyncResult[list[_ChunkResult]] | None = None
    for batch in batches:
        pool = _pool() if _parallel(batch) else None
        if pool is None:
            if pending is not None:
                yield _collect(pending.get())
                pending = None
            yield _validate_raw_batch(batch, account=account)
            continue
        submitted = pool.map_async(_validate_chunk_job, _jobs(batch, account), chunksize=1)
        if pending is not None:
            yield _collect(pending.get())
        pending = submitted
    if pending is not None:
        yield _collect(pending.get())


def _collect(results: list[_ChunkResult]) -> ColumnarBatch:
    tables = [result[0] for result in results]
    rejects = [reject for result in results for reject in result[1]]
    table = (
        (pa.concat_tables(tables) if len(tables) > 1 else tables[0])
        if tables
        else LEDGER_ARROW_SCHEMA.empty_table()
    )
    return ColumnarBatch(
        table,
        rejects,
        sum(result[2] for result in results),
        skipped_lines=sum(result[3] for result in results),
        continued_lines=sum(result[4] for result in results),
    )


def _validate_chunk_job(job: tuple[ReportFile, str, RawChunk]) -> _ChunkResult:
    report, account, chunk = job
    enabled = gc.isenabled()
    gc.disable()  # see _worker_init; nothing here makes cycles
    try:
        parsed = parse_chunk(report, chunk)
        table, rejects = _validate_parsed(parsed, report, account=account)
    finally:
        if enabled:
            gc.enable()
    return table, rejects, parsed.records, parsed.skipped, parsed.continued


def _validate_parsed(
    parsed: ParsedChunk, report: ReportFile, *, account: str
) -> tuple[pa.Table, list[Reject]]:
    """Ledger columns for a parsed chunk's valid rows, and its rejects in line order."""
    columns = parsed.columns
    adapter = _row_adapter(columns)
    cells = parsed.cells
    good: list[tuple[Any, ...]] = []
    good_at: list[int] = []  # index into parsed.cells of each good row
    slow: list[int] = []  # rows the per-model path decides (rejects, rounding)
    for start in range(0, len(cells), _VALIDATE_SLICE):
        part = cells[start : start + _VALIDATE_SLICE]
        try:
            rows = adapter.validate_python(part)
            good += rows
            good_at += range(start, start + len(rows))
            continue
        except ValidationError as exc:
            failed = {int(item["loc"][0]) for item in exc.errors(include_url=False)}
        keep = [i for i in range(len(part)) if i not in failed]
        good += adapter.validate_python([part[i] for i in keep])
        good_at += (start + i for i in keep)
        slow += (start + i for i in sorted(failed))
    index = {name: i for i, name in enumerate(columns)}
    day_at = index["date_shipped"]
    # Cross-field and ledger checks the per-model path words: a date outside the period, an
    # amount with more than 4 decimals (rounded there, HALF_EVEN) or past DECIMAL(18,4), a
    # return that earns (returned_for_money).
    outside: list[int] = []
    if good:
        days = [row[day_at] for row in good]
        first_day, last_day = report.period_start, report.period_end
        if min(days) < first_day or max(days) > last_day:
            outside = [i for i, day in enumerate(days) if not first_day <= day <= last_day]
    money_at = (index["revenue"], index["ad_fees"])
    try:
        sales = pa.array([row[money_at[0]] for row in good], LEDGER_ARROW_SCHEMA.field(6).type)
        fees = pa.array([row[money_at[1]] for row in good], LEDGER_ARROW_SCHEMA.field(7).type)
        odd_money: list[int] = []
    except (pa.ArrowInvalid, ValueError):
        odd_money = [
            i
            for i, row in enumerate(good)
            if any(row[m].as_tuple().exponent < -4 for m in money_at)
        ]
    items_at, returns_at = index["items_shipped"], index["returns"]
    returns_earning = [
        i
        for i, row in enumerate(good)
        if row[items_at] < row[returns_at]
        and returned_for_money(row[items_at] - row[returns_at], row[money_at[0]], row[money_at[1]])
    ]
    if outside or odd_money or returns_earning:
        moved = set(outside) | set(odd_money) | set(returns_earning)
        slow += (good_at[i] for i in moved)
        good = [row for i, row in enumerate(good) if i not in moved]
        good_at = [at for i, at in enumerate(good_at) if i not in moved]
        sales = pa.array([row[money_at[0]] for row in good], LEDGER_ARROW_SCHEMA.field(6).type)
        fees = pa.array([row[money_at[1]] for row in good], LEDGER_ARROW_SCHEMA.field(7).type)
    table = _columns(good, [parsed.line_nos[i] for i in good_at], index, sales, fees, report,
                     account=account)  # fmt: skip
    rejects: list[Reject] = []
    if slow or parsed.ragged:
        lines = [
            RawLine(parsed.line_nos[i], dict(zip(columns, cells[i], strict=True)), parsed.raw(i))
            for i in sorted(slow)
        ]
        checked = _validate_lines(
            sorted([*lines, *parsed.ragged], key=attrgetter("line_no")), report, account=account
        )
        rejects = checked.rejects
        if checked.lines:
            extra = lines_to_table(checked.lines, checked.source_lines)
            table = pa.concat_tables([table, extra])
            table = table.take(pc.sort_indices(table, [("source_line", "ascending")]))
    return table, rejects


def _columns(
    rows: list[tuple[Any, ...]],
    line_nos: list[int],
    index: dict[str, int],
    sales: pa.Array,
    fees: pa.Array,
    report: ReportFile,
    *,
    account: str,
) -> pa.Table:
    """The ledger columns of validated rows, mapped as to_commission_line maps one row."""
    n = len(rows)
    schema = LEDGER_ARROW_SCHEMA
    by_field = list(zip(*rows, strict=True)) if rows else [() for _ in index]

    def column(name: str) -> tuple[Any, ...]:
        return by_field[index[name]]

    def text_or_null(name: str) -> pa.Array:
        values = pa.array(column(name), pa.string())
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)

    items = pa.array(column("items_shipped"), pa.int64())
    returns = pa.array(column("returns"), pa.int64())
    quantity = pc.subtract_checked(items, returns).cast(pa.int32())
    arrays = [
        pa.repeat(pa.scalar(NETWORK, pa.string()), n),
        pa.repeat(pa.scalar(account, pa.string()), n),
        pa.array(_line_ids(rows, index), pa.string()),
        pa.array(column("date_shipped"), pa.date32()),
        pa.nulls(n, schema.field("event_at").type),
        # Amazon has no status field: a shipped item is earned (affiliate-formats.md section 6).
        pa.repeat(pa.scalar("approved", pa.string()), n),
        sales,
        fees,
        pa.repeat(pa.scalar(report.currency, pa.string()), n),
        quantity,
        text_or_null("category"),
        pa.array(column("asin"), pa.string()),
        text_or_null("name"),
        pa.array(column("tracking_id"), pa.string()),
        pa.nulls(n, pa.string()),
        pa.nulls(n, pa.string()),
        pa.array(line_nos, pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _line_ids(rows: list[tuple[Any, ...]], index: dict[str, int]) -> list[str]:
    """earnings_line_id of each row, computed from the validated tuple (same text, same key)."""
    width = len(index)
    # A column the report lacks is None in the model and "" in the key: point it at a pad.
    positions = [index.get(name, width) for name in LINE_ID_FIELDS]
    values = itemgetter(*positions)
    pad = (None,)
    return [content_key(values(row + pad)) for row in rows]


# --- scanned path ---------------------------------------------------------------------------
# DuckDB parses the report and types the ledger columns (connectors/amazon/scan.py); pydantic
# still validates every line, from the JSON of its cells, with the same row adapter as the
# bulk path. A line DuckDB marks plain must pass pydantic, else the report is read in Python
# from the start. Lines that are not plain (rejects, fillers, odd spellings) are decided here
# by the Python reader and validator, exactly as if the whole report had been read that way.

_JSON_ROWS = 4_096  # lines per pydantic call: bounds the Python objects alive at once


def _json_rows_fail(columns: tuple[str, ...], payload: bytes) -> str | None:
    """None when every row of a JSON array of plain rows passes AmazonEarningsRow's rules,
    else the first failure as pydantic words it.

    Plain rows have no cell with edge whitespace (scan.sql), so the model's stripping would
    change nothing: they are validated without it (a quarter of the time).
    """
    enabled = gc.isenabled()
    gc.disable()  # see _worker_init: validation makes only acyclic objects
    try:
        _row_adapter(columns, strip=False).validate_json(payload)
        return None
    except ValidationError as exc:
        return format_errors(exc)[0]
    finally:
        if enabled:
            gc.enable()


def _json_payloads(cells: pa.Array) -> Iterator[bytes]:
    """JSON arrays of up to `_JSON_ROWS` rows, cut straight from the Arrow string buffer.

    scan.sql ends each plain row's JSON with `,` (and writes '' for other rows), so
    consecutive rows are already a JSON list body.
    """
    if not pa.types.is_string(cells.type):
        cells = cells.cast(pa.string())
    if cells.null_count:
        raise ValueError("scan.sql wrote a NULL cells_json")
    _, offsets, data = cells.buffers()
    assert offsets is not None and data is not None
    ends = memoryview(offsets).cast("i")[cells.offset : cells.offset + len(cells) + 1]
    body = memoryview(data)
    for start in range(0, len(cells), _JSON_ROWS):
        stop = min(start + _JSON_ROWS, len(cells))
        if ends[stop] > ends[start]:
            yield b"[" + body[ends[start] : ends[stop] - 1] + b"]"


class ScanCheck:
    """pydantic over the cells of every plain line DuckDB scanned, in a thread of its own.

    The scan keeps each distinct line once (with how many copies the report holds), so each
    distinct text is validated once: validation is a function of the text alone. The lines
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
                # In this thread, not the worker processes: shipping the JSON to them cost more
                # than it saved while DuckDB keeps both cores busy (bench/: 5.9 s -> 5.6 s).
                for payload in _json_payloads(batch.column(0)):
                    self._failure = self._failure or _json_rows_fail(self._columns, payload)
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


# Lines apart that still share one chunk in decide_leftovers: the gap is filled with blank
# lines (which the parser skips), so a chunk is one parse and one validation however the
# lines are scattered (10,000 bad lines, one in every hundred: 1.6 s and +120 MB as one chunk
# per line, bench/), while a few lines far apart do not make a chunk of the whole file.
_LEFTOVER_GAP = 10_000


def decide_leftovers(
    leftovers: dict[int, tuple[str | None, str | None]], report: ReportFile, *, account: str
) -> ColumnarBatch:
    """The lines that were not plain, read and validated by the Python path."""
    found = data_lines(report, set(leftovers))
    tables: list[pa.Table] = []
    rejects: list[Reject] = []
    records = skipped = 0
    groups: list[list[int]] = []
    for ordinal in sorted(found):
        line_no = found[ordinal][0]
        if groups and line_no - found[groups[-1][-1]][0] <= _LEFTOVER_GAP:
            groups[-1].append(ordinal)
        else:
            groups.append([ordinal])
    for group in groups:
        first, last = found[group[0]][0], found[group[-1]][0]
        text = ["\n"] * (last - first + 1)  # parse_chunk numbers lines from the first
        for ordinal in group:
            text[found[ordinal][0] - first] = found[ordinal][1]
        parsed = parse_chunk(report, RawChunk(first, text, len(group)))
        _check_same_row(parsed, {found[o][0]: leftovers[o] for o in group}, report)
        table, chunk_rejects = _validate_parsed(parsed, report, account=account)
        tables.append(table)
        rejects += chunk_rejects
        records += parsed.records
        # The blank lines filling the gaps are not the report's: only its own fillers count.
        skipped += parsed.skipped - (len(text) - len(group))
    table = pa.concat_tables(tables) if tables else LEDGER_ARROW_SCHEMA.empty_table()
    return ColumnarBatch(table, rejects, records, skipped_lines=skipped)


def _check_same_row(
    parsed: ParsedChunk, scanned: dict[int, tuple[str | None, str | None]], report: ReportFile
) -> None:
    """The Python reader must see, line by line, the row DuckDB saw there (else it drifted)."""
    keys = [report.columns.index("asin"), report.columns.index("tracking_id")]
    for line_no, cells in zip(parsed.line_nos, parsed.cells, strict=True):
        seen = [(value or "").strip() for value in scanned[line_no]]
        if [cells[i].strip() for i in keys] != seen:
            raise ScanUnavailableError(f"DuckDB and the Python reader disagree at line {line_no}")
