"""The `passive` entry point: the typer app of flows/commands.py, run."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.commands import app

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    # `app` is imported on first use, so that main() can start hashing the reports an ingest
    # names before the commands' imports (typer, pydantic, DuckDB: ~0.3 s) run.
    if name == "app":
        from flows.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    from connectors.digests import begin_early

    begin_early(sys.argv[1:])
    from flows.commands import app
    from flows.foreground import exit_now

    try:
        app()
    except SystemExit as done:
        exit_now(done.code)


if __name__ == "__main__":
    main()
