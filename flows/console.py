"""What every `passive` command prints with (rich, loaded only when asked) and where it runs."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from flows.runmode import prefect_api_url

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

IN_PROCESS_NOTE = (
    "[dim]ran in-process; for runs tracked in the Prefect UI, start `passive serve` "
    "or set PREFECT_API_URL[/]"
)
PIPED_WIDTH = 200


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout or stderr, as every `passive` command prints."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output would otherwise be cut at 80 columns and truncate the money columns.
    return Console(stderr=stderr, width=None if stream.isatty() else PIPED_WIDTH)


def spinner(err: Console) -> Progress:
    """A transient progress line on stderr for work of unknown length (lines, records)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True,
    )  # fmt: skip


def tracked_api() -> str | None:
    """The Prefect API for tracked runs: PREFECT_API_URL / profile, else a running `passive serve`.

    An explicitly empty PREFECT_API_URL means "in-process" and is respected (tests use it).
    """
    url = prefect_api_url()
    if url or "PREFECT_API_URL" in os.environ:
        return url
    from flows.serve import running_api_url

    found = running_api_url()
    if found:
        os.environ["PREFECT_API_URL"] = found  # before prefect is imported: it reads this
    return found
