"""The ledger's `network` values, defined once (light: the CLI's quick re-ingest imports it)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Network(StrEnum):
    """Every network the ledger holds lines of: the one definition of their names.

    The CLI's network arguments take these as choices (typer validates and completes them);
    the constants below are their plain `str` values, for code and SQL parameters.
    """

    AMAZON = "amazon"
    AWIN = "awin"
    CJ = "cj"
    IMPACT = "impact"


AMAZON: Final[str] = Network.AMAZON.value
IMPACT: Final[str] = Network.IMPACT.value
AWIN: Final[str] = Network.AWIN.value
CJ: Final[str] = Network.CJ.value
