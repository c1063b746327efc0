"""Amazon Fee-Earnings rows: the raw-row model and its mapping to canonical ledger lines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, partial
from operator import attrgetter, itemgetter
from typing import Annotated, Any, Literal, Protocol

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

from schemas import networks
from schemas.commission import CommissionLine
from schemas.validation import (
    LEDGER_ARROW_SCHEMA,
    BatchValidator,
    Reject,
    ValidatedBatch,
    format_errors,
    lines_to_table,
    map_valid,
)

NETWORK = networks.AMAZON


@dataclass(frozen=True)
class AmazonColumn:
    """One Fee-Earnings column, declared once: the model's field type, the ledger column it
    fills and how. The Python (to_commission_line), Arrow (_columns) and SQL
    (warehouse/amazon_scan.py, scan.sql) mappings are generated from COLUMNS or held to it by
    tests/unit/test_amazon_mapping_declared.py."""

    name: str  # the canonical key (connectors/amazon/columns.py)
    kind: Literal["text", "money", "count", "date"]
    ledger: str | None = None  # the ledger column holding this cell's typed value, if any
    empty_is_null: bool = False  # an empty cell is NULL there (`program`, `product_name`)


# Every column, in the reader's canonical order, which is also the content key's order
# (LINE_ID_FIELDS; warehouse/amazon_scan.py hashes the same order in SQL): reordering them
# would change every line id already in a ledger.
COLUMNS: tuple[AmazonColumn, ...] = (
    AmazonColumn("category", "text", ledger="program", empty_is_null=True),
    AmazonColumn("name", "text", ledger="product_name", empty_is_null=True),
    AmazonColumn("asin", "text", ledger="product_id"),
    AmazonColumn("seller", "text"),
    AmazonColumn("tracking_id", "text", ledger="tracking_id"),
    AmazonColumn("date_shipped", "date", ledger="event_date"),
    AmazonColumn("price", "money"),
    AmazonColumn("items_shipped", "count"),
    AmazonColumn("returns", "count"),
    AmazonColumn("revenue", "money", ledger="sale_amount"),
    AmazonColumn("ad_fees", "money", ledger="commission_amount"),
    AmazonColumn("device_type_group", "text"),
    AmazonColumn("direct", "text"),
)
COLUMN = {column.name: column for column in COLUMNS}
# The ledger's `quantity` is the difference of two counts: shipped minus returned.
QUANTITY: tuple[str, str] = ("items_shipped", "returns")
# Ledger columns every line of a report shares: Amazon has no status field (a shipped item is
# earned: affiliate-formats.md section 6), no time, order or original line. `account` and
# `currency` are shared too, and come from the load and the report.
SHARED: dict[str, str | None] = {
    "network": networks.AMAZON,
    "status": "approved",
    "event_at": None,
    "order_id": None,
    "original_line_id": None,
}
LINE_ID_FIELDS: tuple[str, ...] = tuple(column.name for column in COLUMNS)
_SEPARATOR = "\x1f"  # ASCII unit separator: csv cells cannot carry it as meaningful text
_MONEY_LIMIT = Decimal("1e14")  # DECIMAL(18,4) holds 14 integer digits

# Bounded before CommissionLine quantizes: Decimal.quantize raises InvalidOperation (not a
# ValueError) for huge values, which would escape the validation boundary.
RawMoney = Annotated[Decimal, Field(allow_inf_nan=False, gt=-_MONEY_LIMIT, lt=_MONEY_LIMIT)]


class ReportContext(Protocol):
    """What the mapping needs of the report a row came from (connectors' ReportContext has it)."""

    @property
    def name(self) -> str:
        """The file name rejects are located in."""

    @property
    def currency(self) -> str:
        """The store's currency, for every line of the report."""

    @property
    def period_start(self) -> date:
        """First day the report covers."""

    @property
    def period_end(self) -> date:
        """Last day the report covers (inclusive)."""


class RawRow(Protocol):
    """One data row as the reader gives it: canonical key -> cell text, and where it was."""

    @property
    def line_no(self) -> int:
        """1-based physical line number in the report."""

    @property
    def fields(self) -> dict[str, str]:
        """Canonical column -> cell text."""

    @property
    def raw(self) -> str:
        """The original line text, for the rejects table."""


class ParsedRows(Protocol):
    """A chunk of parsed rows: well-formed ones as cell lists in `columns` order, the rest as
    raw rows (connectors' ParsedChunk has it)."""

    @property
    def cells(self) -> Sequence[Sequence[str]]:
        """Each well-formed row's cells, numbers and dates already normalised."""

    @property
    def line_nos(self) -> Sequence[int]:
        """The physical line of each well-formed row."""

    @property
    def columns(self) -> tuple[str, ...]:
        """The canonical column of each cell position."""

    @property
    def ragged(self) -> Sequence[RawRow]:
        """Rows whose cells do not line up with the header."""

    def raw(self, index: int) -> str:
        """The original text of well-formed row `index`."""


@dataclass(frozen=True)
class _Row:
    """A well-formed row sent down the per-model path (a RawRow)."""

    line_no: int
    fields: dict[str, str]
    raw: str


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

    The key is also computed in SQL (warehouse/sql/amazon/scan.sql) for lines DuckDB reads, so
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
    row: AmazonEarningsRow, report: ReportContext, *, account: str
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
    items, returns = (getattr(row, name) for name in QUANTITY)
    mapped: dict[str, Any] = {
        ledger: _ledger_value(column, getattr(row, column.name)) for column, ledger in _MAPPED
    }
    return CommissionLine(
        **SHARED,
        **mapped,
        account=account,
        line_id=earnings_line_id(row),
        currency=report.currency,
        quantity=items - returns,
    )


_MAPPED: tuple[tuple[AmazonColumn, str], ...] = tuple(
    (column, column.ledger) for column in COLUMNS if column.ledger is not None
)


def _ledger_value(column: AmazonColumn, value: object) -> object:
    """A validated cell as its ledger column holds it (COLUMNS says how)."""
    return (value or None) if column.empty_is_null else value


_VALIDATOR = BatchValidator(AmazonEarningsRow)
# Raw models are only needed until mapped: validating in slices keeps at most this many alive
# beside the batch's RawLines and CommissionLines (memory must not grow with batch size).
_SLICE = 5_000


def validate_earnings_batch(
    batch: Sequence[RawRow], report: ReportContext, *, account: str
) -> ValidatedBatch:
    """Validate rows one model each (the per-model path): ledger lines for the good ones,
    located rejects for the rest.

    Identical rows are all kept (two identical lines are two sales); returns stay as their own
    negative rows. The bulk path (validate_parsed) sends the rows it cannot decide here, so
    every reject is worded by this one function.
    """
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


def validate_parsed(
    parsed: ParsedRows, report: ReportContext, *, account: str
) -> tuple[pa.Table, list[Reject]]:
    """Ledger columns for a parsed chunk's valid rows, and its rejects in line order (the
    bulk path: one reused TypeAdapter over the cells, the ledger columns built in Arrow)."""
    columns = parsed.columns
    adapter = _row_adapter(columns)
    cells = list(parsed.cells)
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
    table = _columns(good, [parsed.line_nos[i] for i in good_at], index,
                     {"revenue": sales, "ad_fees": fees}, report, account=account)  # fmt: skip
    rejects: list[Reject] = []
    if slow or parsed.ragged:
        lines: list[RawRow] = [
            _Row(parsed.line_nos[i], dict(zip(columns, cells[i], strict=True)), parsed.raw(i))
            for i in sorted(slow)
        ]
        checked = validate_earnings_batch(
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
    money: dict[str, pa.Array],
    report: ReportContext,
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

    items = pa.array(column(QUANTITY[0]), pa.int64())
    returns = pa.array(column(QUANTITY[1]), pa.int64())
    kinds: dict[str, pa.DataType] = {
        "text": pa.string(),
        "date": pa.date32(),
        "count": pa.int64(),
    }
    by_ledger: dict[str, pa.Array] = {
        name: pa.repeat(pa.scalar(value, schema.field(name).type), n)
        for name, value in SHARED.items()
    }
    for mapped, ledger in _MAPPED:
        if mapped.kind == "money":
            by_ledger[ledger] = money[mapped.name]  # typed (and checked) by the caller
        elif mapped.empty_is_null:
            by_ledger[ledger] = text_or_null(mapped.name)
        else:
            by_ledger[ledger] = pa.array(column(mapped.name), kinds[mapped.kind])
    by_ledger.update(
        account=pa.repeat(pa.scalar(account, pa.string()), n),
        line_id=pa.array(_line_ids(rows, index), pa.string()),
        currency=pa.repeat(pa.scalar(report.currency, pa.string()), n),
        quantity=pc.subtract_checked(items, returns).cast(pa.int32()),
        source_line=pa.array(line_nos, pa.int64()),
    )
    arrays = [by_ledger[name] for name in schema.names]
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
# DuckDB parses the report and types the ledger columns (warehouse/amazon_scan.py); pydantic
# still validates every cell of every distinct plain line, column by column, with each model
# field's own type and constraints.


@cache
def _cell_adapter(column: str) -> TypeAdapter[list[Any]]:
    """A validator for a list of one column's cells, typed as that AmazonEarningsRow field."""
    field = AmazonEarningsRow.model_fields[column]
    item = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    return TypeAdapter(list[item])  # type: ignore[valid-type]


def cells_fail(cells: Mapping[str, Sequence[str]]) -> str | None:
    """None when every cell passes its AmazonEarningsRow field, else the first failure as
    pydantic words it (`column.row: message`).

    Column by column is row by row: the row adapter (_row_adapter) checks each position
    against its own field alone, with no rule across fields, so a list of rows passes it
    exactly when each column's list of cells passes here, and a column's cells of one type
    go through pydantic-core in one call (bench/: 1.8x the rows per second of a JSON array
    of rows, with no JSON to write). Plain rows have no cell with edge whitespace
    (scan.sql), so the model's stripping would change nothing: they are validated without it.
    """
    for column, values in cells.items():
        try:
            _cell_adapter(column).validate_python(values)
        except ValidationError as exc:
            return f"{column}.{format_errors(exc)[0]}"
    return None
