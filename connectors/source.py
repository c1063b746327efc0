"""What every source of records declares, API or file: its name, raw model, key and disposition.

Light on purpose (no HTTP imports): the Amazon file ingest reads its declaration too. API
networks extend it with how they are fetched (connectors.stream.Stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Disposition = Literal["upsert", "replace_slice"]
"""How the warehouse loads what a source gives (warehouse.load): upsert by the key, the last
read winning, or replace the whole slice the input covers (a report file's period)."""


@dataclass(frozen=True, kw_only=True)
class Source:
    """A source of raw records, declared (as a dlt resource's name, primary_key and
    write_disposition): the raw model lives in schemas/ under the name `raw_model` gives."""

    name: str  # the ledger's `network` value (or the fx source's name) and the registry key
    label: str  # how messages name it ("impact.com")
    raw_model: str  # the key of its model in schemas.raw_models
    # The raw fields that identify a record; empty for a source whose records have no id
    # (its slices are replaced whole and repeated lines numbered).
    primary_key: tuple[str, ...]
    disposition: Disposition

    def __post_init__(self) -> None:
        if self.disposition == "upsert" and not self.primary_key:
            raise ValueError(f"{self.name}: an upsert source must declare its primary key")
