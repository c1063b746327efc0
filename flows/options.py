"""The `passive` options shared by several commands, each defined once with its choices.

A fixed set of values is a StrEnum or a Literal, so typer validates it (a bad value is one
`error:` line naming the choices, flows/output.py) and shells complete it. Light on purpose:
the app imports this before any command runs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from connectors.amazon.marketplaces import MarketplaceCode
from flows.output import OutputFormat
from schemas.networks import Network
from warehouse.tally import Basis, TallyBy

__all__ = [
    "MARKETPLACES_SHOWN",
    "AsOfOption",
    "Basis",
    "BasisOption",
    "ByOption",
    "DbOption",
    "FormatOption",
    "MarketplaceCode",
    "MarketplaceOption",
    "Network",
    "NetworkArgument",
    "NetworkFilter",
    "OutputFormat",
    "TallyBy",
]

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="Ledger file. Default: $PASSIVE_DB, else ./ledger.duckdb.", show_default=False
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
AsOfOption = Annotated[
    datetime | None,
    typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Count from this day instead of today.",
        show_default=False,
    ),
]  # fmt: skip
# The stores as they write their codes; --marketplace takes them in any case (`uk` is UK).
MARKETPLACES_SHOWN = "<" + "|".join(MarketplaceCode) + ">"
MarketplaceOption = Annotated[
    MarketplaceCode,
    typer.Option(
        case_sensitive=False,
        metavar=MARKETPLACES_SHOWN,
        help="The Amazon store (it sets the currency).",
    ),
]
NetworkArgument = Annotated[Network, typer.Argument(help="The network.", show_default=False)]
NetworkFilter = Annotated[Network | None, typer.Option(help="Only this network.")]
ByOption = Annotated[TallyBy, typer.Option(help="Group by.")]
BasisOption = Annotated[
    Basis, typer.Option(help="With --currency: each line's day (event) or month-end rates.")
]
