"""The `passive` entry point: an unchanged report's re-ingest answered at once, else typer."""

from __future__ import annotations

import os
import re
import sys
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from flows.console import IN_PROCESS_NOTE, PIPED_WIDTH, console, spinner, tracked_api
from schemas.networks import AMAZON

if TYPE_CHECKING:
    from connectors.amazon import ReportFile

# `passive ingest` options that take a value; --force and --no-force are the only flags.
_VALUE_OPTIONS = frozenset(
    {"--account", "--network", "--marketplace", "--db", "--period-start", "--period-end"}
)
# Environment that makes rich treat a pipe as a terminal (colours, live spinners).
_RICH_TERMINAL_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
# rich's emoji codes (`:smile:`) in a printed text; such a text is left to rich to print.
_EMOJI_CODE = re.compile(r":\S*:")


def _parse_ingest(argv: list[str]) -> tuple[list[str], dict[str, str]] | None:
    """`ingest FILE... --account NAME [--option VALUE]...` in its plain spellings, else None.

    Anything unusual (help, --force, a repeated option, a value that looks like an option,
    `--`) is None: the typer command parses it, and says what is wrong with it.
    """
    if not argv or argv[0] != "ingest":
        return None
    files: list[str] = []
    options: dict[str, str] = {}
    rest = iter(argv[1:])
    for arg in rest:
        if not arg.startswith("-"):
            files.append(arg)
            continue
        if arg == "--no-force":
            continue
        key, equals, value = arg.partition("=")
        if key not in _VALUE_OPTIONS or key in options:
            return None
        if not equals:
            value = next(rest, "")
        if not value or value.startswith("-"):
            return None
        options[key] = value
    if not files or "--account" not in options:
        return None
    return files, options


def _day(options: dict[str, str], key: str) -> date | None:
    # The typer option's one format; a value it would refuse raises ValueError.
    value = options.get(key)
    return datetime.strptime(value, "%Y-%m-%d").date() if value else None  # noqa: DTZ007


class _PlainIngest(NamedTuple):
    """A plain `passive ingest`: its files, its options as given, and their read values."""

    files: list[str]
    options: dict[str, str]
    marketplace: str
    period_start: date | None
    period_end: date | None


def _plain_ingest(argv: list[str]) -> _PlainIngest | None:
    """An Amazon `passive ingest` in its plain spellings (_parse_ingest) with its values read,
    else None (the typer command then parses it, and says what is wrong with it)."""
    parsed = _parse_ingest(argv)
    if parsed is None:
        return None
    files, options = parsed
    if options.get("--network", AMAZON) != AMAZON:
        return None
    try:
        period_start, period_end = _day(options, "--period-start"), _day(options, "--period-end")
    except ValueError:
        return None
    marketplace = options.get("--marketplace", "US").upper()
    return _PlainIngest(files, options, marketplace, period_start, period_end)


def _rich_would_style(*streams: Any) -> bool:
    return any(s.isatty() for s in streams) or any(k in os.environ for k in _RICH_TERMINAL_ENV)


def _plain(text: str) -> bool:
    """Whether rich prints `text` unchanged on a pipe: no markup, emoji code, tab or wrap."""
    return (
        text.isascii()
        and text.isprintable()
        and "[" not in text
        and not _EMOJI_CODE.search(text)
        and len(text) < PIPED_WIDTH
    )


def _reingest_unchanged(argv: list[str]) -> int | None:
    """Answer an in-process `passive ingest` of reports the ledger already holds, else None.

    Re-ingesting unchanged content is a no-op and should answer at once (issue 5: under
    0.5 s for a 1M-line report), but the full command imports typer, rich, pydantic and
    pyarrow, forks validation workers and decodes every byte before it learns that. Here the
    files are only opened and hashed; when every report is in `source_files`, the skips are
    recorded in `ingest_runs` and printed exactly as the full command does. Anything else (a
    new report, --force, a bad file, a locked ledger, a tracked Prefect run, unusual
    arguments) returns None having written nothing, and the full command takes over.
    """
    ingest = _plain_ingest(argv)
    if ingest is None or tracked_api():
        return None
    styled = _rich_would_style(sys.stdout, sys.stderr)
    if styled:
        with spinner(console(stderr=True)) as progress:
            progress.add_task("reading reports", total=None)
            lines = _skip_seen(ingest)
    else:
        lines = _skip_seen(ingest)
    if lines is None:
        return None
    _print_skips(lines, styled=styled)
    return 0


def _skip_seen(ingest: _PlainIngest) -> list[str] | None:
    """Record the skips and return the lines to print, if the ledger holds every report."""
    from connectors.amazon.errors import AmazonReportError
    from connectors.amazon.reports import open_reports
    from flows.reingest import first_ingested_as, record_skip, report_run
    from warehouse.connection import LedgerLockedError, LedgerPathError, ledger, resolve_db_path

    db = resolve_db_path(ingest.options.get("--db"))
    if not db.is_file():
        return None  # a first ingest: nothing can be skipped, so nothing is hashed twice
    reports: list[ReportFile] = []
    for name in ingest.files:
        path = Path(name)
        if not path.is_file():
            return None
        try:
            # No text check: content found in source_files passed it when it was loaded.
            reports += open_reports(
                path,
                marketplace=ingest.marketplace,
                period_start=ingest.period_start,
                period_end=ingest.period_end,
                check_text=False,
            )
        except AmazonReportError:
            return None
    account = ingest.options["--account"]
    lines: list[str] = []
    try:
        # No waiting for a lock here: the full command waits, and says who holds it.
        with ledger(db, timeout=0) as con:
            # The skip check of ingest_steps.load_report, for every report before any is recorded.
            firsts = [first_ingested_as(con, r, account=account) for r in reports]
            if None in firsts:
                return None
            for report, first in zip(reports, firsts, strict=True):
                assert first is not None
                run = report_run(report, run_id=uuid.uuid4().hex, account=account)
                lines.append(f"skipped {report.name}: {record_skip(con, run, first)}")
    except (LedgerLockedError, LedgerPathError):
        return None  # the full command says what is wrong
    return lines


def _print_skips(lines: list[str], *, styled: bool) -> None:
    """What the full command prints for reports it skipped, byte for byte."""
    if styled:
        console(stderr=True).print(IN_PROCESS_NOTE)
    else:
        # On a pipe rich prints a transient spinner as one empty line, and the note unstyled.
        sys.stderr.write("\n" + IN_PROCESS_NOTE.removeprefix("[dim]").removesuffix("[/]") + "\n")
        sys.stderr.flush()
    out = None
    for line in lines:
        if styled or not _plain(line):
            out = out or console()
            out.print(line, highlight=False)
        else:
            sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    """Console-script entry point."""
    code = _reingest_unchanged(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from flows.commands import app

    app()


def __getattr__(name: str) -> Any:
    # `from flows.cli import app` (tests, scripts) still works; typer loads only when asked.
    if name == "app":
        from flows.commands import app

        return app
    raise AttributeError(f"module 'flows.cli' has no attribute {name!r}")


if __name__ == "__main__":
    main()
