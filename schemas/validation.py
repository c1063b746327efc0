"""The one validation boundary: raw records in, valid models plus located rejects out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.commission import CommissionLine

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
