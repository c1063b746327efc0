"""How the typer commands answer: a one-line error with its exit code (usage mistakes too), and
rows as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, NoReturn

import typer
from rich.markup import escape
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from flows.console import console

OutputFormat = Literal["table", "csv", "json"]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit (2: bad input or usage)."""
    # Escaped: a message quoting `[accounts.shop]` or a path with brackets is text, not markup.
    console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


class OneLineErrors(TyperGroup):
    """The `passive` app: a usage mistake (a value not among an option's choices, a missing
    argument, an unknown option) is one `error:` line naming the command's --help, as every
    other refusal is, not typer's boxed panel under a usage block."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the app; in standalone mode (a process, CliRunner) exit with the code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as error:
            error.show()  # `passive` alone: the help, as typer prints it
            sys.exit(error.exit_code)
        except typer.TyperException as error:  # a bad value or option (UsageError), FileError
            if getattr(error, "exit_code", 1) == 2:
                _usage_error(error.format_message(), getattr(error, "ctx", None))
            console(stderr=True).print(
                f"[bold red]error:[/] {error.format_message()}", highlight=False, soft_wrap=True
            )
            sys.exit(getattr(error, "exit_code", 1))
        except typer.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


# typer's word for a value outside an option's choices: "Value error, 'x' is not one of 'a',
# 'b'." (pydantic's prefix included); the choices read better as a plain list.
_NOT_ONE_OF = re.compile(r"(?:Value error, )?('[^']*') is not one of ((?:'[^']*'(?:, )?)+)\.?$")


def _usage_error(message: str, ctx: Any) -> NoReturn:
    found = _NOT_ONE_OF.search(message)
    if found:
        choices = ", ".join(re.findall(r"'([^']*)'", found[2]))
        message = f"{message[: found.start()]}{found[1]} is not one of {choices}"
    where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    console(stderr=True).print(
        f"[bold red]error:[/] {message.rstrip('.')}{where}", highlight=False, soft_wrap=True
    )
    sys.exit(2)


def plain(value: Any) -> Any:
    """A value as JSON and CSV write it: Decimal as its exact text, dates ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# A spreadsheet runs a cell starting with one of these as a formula (`=HYPERLINK(...)`,
# `+1+1`, `@SUM(...)`): OWASP's "CSV Injection" advice is to write such a cell with a leading
# single quote, which makes it text. A number (`-3.10`) is left as it is. Only the CSV output
# changes: the ledger keeps what the report said.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: formula-like text gets a leading `'`."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def emit(columns: tuple[str, ...], rows: list[tuple[Any, ...]], fmt: str, title: str) -> None:
    """Print rows on stdout as `table` (rich), `csv` or `json`."""
    if fmt == "json":
        data = [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([spreadsheet_safe(c) for c in columns])
        writer.writerows([[spreadsheet_safe(plain(v)) for v in row] for row in rows])
        sys.stdout.write(buffer.getvalue())
    elif fmt == "table":
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            numeric = rows and isinstance(rows[0][columns.index(column)], int | Decimal)
            table.add_column(column, justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*("" if v is None else str(plain(v)) for v in row))
        console().print(table)
    else:
        raise fail(f"--format must be table, csv or json; got {fmt!r}")
