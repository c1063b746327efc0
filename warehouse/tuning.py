"""The performance knobs of a load, typed and documented, read from the environment here only."""

from __future__ import annotations

import os
import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A DuckDB size such as `160MB` or `1.5 GiB`: it is put into a SET statement, so it is checked.
_SIZE = re.compile(r"\d+(\.\d+)?\s*[KMGT]?i?B", re.IGNORECASE)


class Tuning(BaseSettings):
    """How a load spends memory, cores and passes; `Tuning()` reads `PASSIVE_<FIELD>`.

    The command that starts a load builds one and passes it down (flows/, the Ledger); no
    module below reads the environment for these. None of them changes what is loaded: each
    only trades time against memory, and the tests turn them to exercise the rare paths.
    """

    model_config = SettingsConfigDict(env_prefix="PASSIVE_", extra="ignore", frozen=True)

    scan: bool = Field(
        default=True,
        description="Let DuckDB's CSV reader read plain reports (`0`: the Python reader only).",
    )
    workers: int = Field(
        default_factory=lambda: min(2, os.cpu_count() or 1),
        description="Processes validating what the Python reader parsed (below 2: in-process).",
    )
    duckdb_memory: str = Field(
        default="128MB",
        description=(
            "DuckDB's memory budget during a load: its scratch tables spill to `<ledger>.tmp`"
            " instead of growing the process with the file (`0` or empty: DuckDB's default)."
        ),
    )
    # A report up to this size is grouped in one pass as DuckDB reads it; that pass runs out of
    # memory within a second when it does not fit the budget, and the staged passes take over.
    scan_pass_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=0)
    # Lines per staged grouping pass (at most that many distinct); a pass that runs out of
    # memory is redone as two, up to max_scan_passes times as many. 500k fit the budget alone
    # but not beside a 10M-line scan table (bench/: a third of the passes were redone).
    scan_pass_lines: int = Field(default=250_000, ge=1)
    # The share of a report's first 20,000 lines that repeat an earlier one from which DuckDB
    # groups identical lines as it reads; below it every line is read as a row of its own and
    # the few repeats are numbered after (warehouse/amazon_scan.py). 0: always group; above 1:
    # never.
    scan_repeats_to_group: float = Field(default=0.1, ge=0)
    max_scan_passes: int = Field(default=256, ge=1)
    # Lines grouped per pass of incoming_grouped.sql: a million all-distinct ones fit the
    # default 128MB budget (bench/); a pass that does not is retried with more memory.
    numbering_pass_lines: int = Field(default=1_000_000, ge=1)
    # Lines the Python reader must decide before the scan stops paying off: past this many,
    # the whole report is read in Python (and the leftovers' cells need not be held).
    max_leftovers: int = Field(default=50_000, ge=0)

    @field_validator("workers", mode="before")
    @classmethod
    def _default_when_empty(cls, value: object) -> object:
        # An empty PASSIVE_WORKERS means the default, and a negative count none (as it always has).
        if isinstance(value, str) and not value.strip():
            return min(2, os.cpu_count() or 1)
        if isinstance(value, str | int) and str(value).strip().lstrip("-").isdigit():
            return max(0, int(value))
        return value

    @field_validator("duckdb_memory")
    @classmethod
    def _a_duckdb_size(cls, value: str) -> str:
        text = value.strip()
        if text in ("", "0") or _SIZE.fullmatch(text):
            return text
        raise ValueError(f"not a memory size: {value!r} (expected e.g. 160MB)")

    @property
    def memory_limit(self) -> str | None:
        """The budget to SET during a load, or None to leave DuckDB's own."""
        return None if self.duckdb_memory in ("", "0") else self.duckdb_memory


class TuningError(ValueError):
    """A PASSIVE_* performance setting the environment gives in a form it cannot take."""


def tuning_from_environment() -> Tuning:
    """Tuning() with a bad setting as one line naming it (pydantic's text spans several)."""
    from pydantic import ValidationError

    try:
        return Tuning()
    except ValidationError as error:
        problem = error.errors()[0]
        name = "PASSIVE_" + "_".join(str(p) for p in problem["loc"]).upper()
        raise TuningError(f"{name}: {problem['msg']}") from None
