"""Each network's raw model, found by the name its connector's declaration gives (`raw_model`).

The pull loop (flows/pull_loop.py) pairs a declared stream with its entry here, so neither
connectors nor schemas import the other. Modules are imported on first use: the CLI's Amazon
paths must not pay for the API networks' models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sized
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol

from pydantic import BaseModel

from schemas.validation import ColumnarBatch, ValidatedBatch

Batch = ValidatedBatch | ColumnarBatch


class PageValidator(Protocol):
    """Validates one page of decoded raw records into ledger lines and `page N:i` rejects."""

    def __call__(self, records: list[Any], /, *, account: str, page: int) -> Batch:
        """Lines and rejects of the page numbered `page` in the pull."""
        ...


class ReadValidator(Protocol):
    """Maps what a one-pass reader took (already validated) to ledger lines."""

    def __call__(self, read: Any, /, *, account: str, page: int) -> Batch:
        """Lines and rejects of the page numbered `page` in the pull."""
        ...


@dataclass(frozen=True)
class RawModel:
    """A raw record model and how a page of its records is validated.

    `read_bytes` (optional) parses and validates an answer's bytes in one pass, returning the
    records and the envelope's other fields (what connectors.stream.PageReader expects), or
    None to have the answer decoded and validated record by record; `validate_read` maps
    what it returned.
    """

    model: type[BaseModel]
    validate: PageValidator
    read_bytes: Callable[[bytes], tuple[Sized, Mapping[str, Any]] | None] | None = None
    validate_read: ReadValidator | None = None

    def __post_init__(self) -> None:
        # What a reader took is no longer in the page's records: without its mapper the
        # page would load empty.
        if (self.read_bytes is None) != (self.validate_read is None):
            raise ValueError(
                f"{self.model.__name__}: read_bytes and validate_read come together or not at all"
            )


# name -> the module whose RAW_MODELS holds it; a new API network adds its entries here.
_MODULES = {
    "impact.action": "schemas.impact",
    "awin.transaction": "schemas.awin",
    "cj.commission": "schemas.cj",
}
# Sources validated by their own path, not page by page into ledger lines (report files,
# rates files, payments): name -> module and model class.
_FILE_MODELS = {
    "amazon.earnings": ("schemas.amazon", "AmazonEarningsRow"),
    "ecb.fixing": ("schemas.fx", "FxFixing"),
    "impact.invoice": ("schemas.payments", "ImpactInvoice"),
}


def raw_model(name: str) -> RawModel:
    """The raw model registered under `name` (a declaration's `raw_model`)."""
    try:
        module = _MODULES[name]
    except KeyError:
        known = ", ".join(sorted(_MODULES))
        if name in _FILE_MODELS:
            raise LookupError(f"{name!r} is validated by its own path, not page by page") from None
        raise LookupError(f"no raw model {name!r} in schemas.raw_models (known: {known})") from None
    models: dict[str, RawModel] = import_module(module).RAW_MODELS
    return models[name]


def model_class(name: str) -> type[BaseModel]:
    """The raw model class registered under `name`, for any declared source."""
    if name in _FILE_MODELS:
        module, attribute = _FILE_MODELS[name]
        model: type[BaseModel] = getattr(import_module(module), attribute)
        return model
    return raw_model(name).model


def raw_model_names() -> tuple[str, ...]:
    """Every registered name, sorted."""
    return tuple(sorted((*_MODULES, *_FILE_MODELS)))
