"""How the typer commands answer: a one-line error with its exit code, and rows as a table,
CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import typer
from rich.table import Table

from flows.console import console


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit (2: bad input or usage)."""
    console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


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
        table = Table(title=title, title_justify="left")
        for column in columns:
            numeric = rows and isinstance(rows[0][columns.index(column)], int | Decimal)
            table.add_column(column, justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*("" if v is None else str(plain(v)) for v in row))
        console().print(table)
    else:
        raise fail(f"--format must be table, csv or json; got {fmt!r}")
