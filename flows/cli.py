"""The `passive` entry point: the typer app of flows/commands.py, run."""

from __future__ import annotations

from flows.commands import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    from flows.foreground import exit_now

    try:
        app()
    except SystemExit as done:
        exit_now(done.code)


if __name__ == "__main__":
    main()
