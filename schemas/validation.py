"""The one validation boundary: raw records in, valid models plus located rejects out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pyarrow as pa
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.commission import LEDGER_COLUMNS, CommissionLine

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Reject:
    """A record that failed validation: where it was, what it said, and why it failed."""

    locator: str  # "file.csv:17" for report lines, "page 3:12" for API records
    raw: str
    reasons: tuple[str, ...]


@dataclass
class ValidatedBatch:
    """Ledger lines from one batch of input plus the records of that batch that were rejected.

    `source_lines[i]` is the position of `lines[i]` in its input (a report's line number or a
    running record index): the warehouse uses it to number identical report lines stably.
    """

    lines: list[CommissionLine] = field(default_factory=list)
    source_lines: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    records_read: int = 0
    # The lines' payout facts (schemas.terms.TERMS_SCHEMA) for `commission_terms`, if any.
    terms: pa.Table | None = None


_MONEY = pa.decimal128(18, 4)
LEDGER_ARROW_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("account", pa.string()),
        ("line_id", pa.string()),
        ("event_date", pa.date32()),
        ("event_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("sale_amount", _MONEY),
        ("commission_amount", _MONEY),
        ("currency", pa.string()),
        ("quantity", pa.int32()),
        ("program", pa.string()),
        ("product_id", pa.string()),
        ("product_name", pa.string()),
        ("tracking_id", pa.string()),
        ("order_id", pa.string()),
        ("original_line_id", pa.string()),
        ("source_line", pa.int64()),
    ]
)
"""Ledger lines in columnar form: CommissionLine's fields in order, then `source_line`."""
assert tuple(LEDGER_ARROW_SCHEMA.names[:-1]) == LEDGER_COLUMNS, "columns must follow the model"


def lines_to_table(lines: Sequence[CommissionLine], source_lines: Sequence[int]) -> pa.Table:
    """Columnar copy of ledger lines, typed as LEDGER_ARROW_SCHEMA."""
    columns: dict[str, list[object]] = {
        name: [getattr(line, name) for line in lines] for name in LEDGER_COLUMNS
    }
    columns["source_line"] = list(source_lines)
    return pa.Table.from_pydict(columns, schema=LEDGER_ARROW_SCHEMA)


@dataclass(frozen=True)
class ColumnarBatch:
    """A validated batch whose ledger lines are already columns (LEDGER_ARROW_SCHEMA).

    Bulk paths build the columns straight from validated raw rows instead of one
    CommissionLine per row; `lines` rebuilds the models (validated) for callers that want them.
    """

    table: pa.Table
    rejects: list[Reject]
    records_read: int
    terms: pa.Table | None = None  # as in ValidatedBatch
    # Input lines that are no record of their own (report files): blank or `Total` lines, and
    # the further lines of a record whose quoted cell spans lines. Every line of a report must
    # be a loaded or rejected record or one of these (flows/ingest_steps.py checks it).
    skipped_lines: int = 0
    continued_lines: int = 0

    @property
    def source_lines(self) -> list[int]:
        """Where each line came from, as in ValidatedBatch."""
        return [int(v) for v in self.table.column("source_line").to_pylist()]

    @property
    def lines(self) -> list[CommissionLine]:
        """The ledger lines as CommissionLine models (small batches and tests only)."""
        rows = self.table.drop_columns(["source_line"]).to_pylist()
        return [CommissionLine.model_validate(row) for row in rows]


def format_errors(error: ValidationError, *, drop_loc_prefix: int = 0) -> tuple[str, ...]:
    """Turn pydantic errors into short `field: message (got 'value')` reasons."""
    reasons = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"][drop_loc_prefix:]) or "record"
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        reasons.append(f"{loc}: {item['msg']}{shown}")
    return tuple(reasons)


class BatchValidator(Generic[M]):
    """Validates lists of raw dicts with one reused TypeAdapter, isolating the bad records.

    The whole batch is validated in one call (fast path); only when that fails are the
    failing indexes read off the error and the good records kept.
    """

    def __init__(self, model: type[M]) -> None:
        self._model = model
        self._adapter: TypeAdapter[list[M]] = TypeAdapter(list[model])  # type: ignore[valid-type]

    def validate(
        self,
        records: Sequence[dict[str, Any]],
        *,
        context: dict[str, Any] | None = None,
    ) -> tuple[list[tuple[int, M]], dict[int, tuple[str, ...]]]:
        """Return `(index, model)` for the valid records and `index -> reasons` for the rest."""
        try:
            models = self._adapter.validate_python(records, context=context)
            return list(enumerate(models)), {}
        except ValidationError as exc:
            failed: dict[int, list[Any]] = {}
            for item in exc.errors(include_url=False):
                failed.setdefault(int(item["loc"][0]), []).append(item)
        good: list[tuple[int, M]] = []
        bad: dict[int, tuple[str, ...]] = {}
        for index, record in enumerate(records):
            if index not in failed:
                good.append((index, self._model.model_validate(record, context=context)))
                continue
            try:
                self._model.model_validate(record, context=context)
            except ValidationError as one:
                bad[index] = format_errors(one)
        return good, bad


def map_valid(
    pairs: Sequence[tuple[int, M]],
    mapper: Callable[[M], CommissionLine],
) -> tuple[list[tuple[int, CommissionLine]], dict[int, tuple[str, ...]]]:
    """Map validated raw records to ledger lines; a mapping that fails rejects only its record."""
    lines: list[tuple[int, CommissionLine]] = []
    bad: dict[int, tuple[str, ...]] = {}
    for index, model in pairs:
        try:
            lines.append((index, mapper(model)))
        except ValidationError as exc:
            bad[index] = format_errors(exc)
        except ValueError as exc:
            bad[index] = (str(exc),)
    return lines, bad


def keep_latest(batches: Iterable[ValidatedBatch]) -> list[ValidatedBatch]:
    """Drop every line whose line_id appears again later in the pull; the last one wins (an
    upsert stream read in several passes, whose later pass sees a fresher row)."""
    ordered = list(batches)
    seen: set[str] = set()
    kept: list[ValidatedBatch] = []
    for batch in reversed(ordered):
        lines, sources = [], []
        for line, source in zip(reversed(batch.lines), reversed(batch.source_lines), strict=True):
            if line.line_id in seen:
                continue
            seen.add(line.line_id)
            lines.append(line)
            sources.append(source)
        lines.reverse()
        sources.reverse()
        kept.append(
            ValidatedBatch(
                lines=lines,
                source_lines=sources,
                rejects=batch.rejects,
                records_read=batch.records_read,
                # Every page's terms stay: the load keeps the last read of each line's.
                terms=batch.terms,
            )
        )
    kept.reverse()
    return kept
