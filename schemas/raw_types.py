"""Field types and the page-validation helper shared by the raw API record models."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator

from schemas.commission import CommissionLine
from schemas.validation import BatchValidator, Reject, ValidatedBatch, map_valid

M = TypeVar("M", bound=BaseModel)


def _blank_to_none(value: Any) -> Any:
    # impact.com sends "" rather than null for unset fields such as ClearedDate and SubId1
    # (affiliate-formats.md §2); treat blank as absent everywhere.
    if isinstance(value, str) and (not value or value.isspace()):
        return None
    return value


def _to_decimal(value: Any) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("money must be a decimal number, not a boolean")
    if isinstance(value, float):
        # Refused so a float can never reach the ledger: JSON must be parsed with
        # parse_float=Decimal (connectors.http does this).
        raise ValueError("money arrived as a binary float; parse JSON with parse_float=Decimal")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"not a finite decimal number: {value!r}")
        return number
    raise ValueError(f"money must be a decimal string or number, got {type(value).__name__}")


def _naive_is_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, str) and value.strip():
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


DecimalAmount = Annotated[Decimal, BeforeValidator(_to_decimal)]
"""An exact amount from a decimal string, an int or a Decimal; floats are refused."""
OptionalDecimal = Annotated[
    Decimal | None, BeforeValidator(_to_decimal), BeforeValidator(_blank_to_none)
]
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]
OffsetTimestamp = Annotated[AwareDatetime, BeforeValidator(_blank_to_none)]
"""A timestamp that must carry its own offset (Impact, CJ)."""
OptionalOffsetTimestamp = Annotated[AwareDatetime | None, BeforeValidator(_blank_to_none)]
UtcTimestamp = Annotated[AwareDatetime, BeforeValidator(_naive_is_utc)]
"""A timestamp that is UTC when it has no offset (Awin renders in the requested timezone=UTC)."""
OptionalUtcTimestamp = Annotated[
    AwareDatetime | None, BeforeValidator(_naive_is_utc), BeforeValidator(_blank_to_none)
]


def validate_records(
    validator: BatchValidator[M],
    mapper: Callable[[M], CommissionLine],
    records: Sequence[dict[str, Any]],
    *,
    page: int,
) -> ValidatedBatch:
    """Validate one API page and map it; rejects are located as `page N:index`."""
    good, bad = validator.validate(records)
    mapped, unmapped = map_valid(good, mapper)
    reasons = {**bad, **unmapped}
    batch = ValidatedBatch(records_read=len(records))
    for index, line in mapped:
        batch.lines.append(line)
        batch.source_lines.append(index)
    for index in sorted(reasons):
        batch.rejects.append(
            Reject(
                locator=f"page {page}:{index}",
                raw=json.dumps(records[index], default=str),
                reasons=reasons[index],
            )
        )
    return batch
