"""Runs the .sql files of warehouse/: statements are split at a trailing `;` and bound by name."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

SQL_DIR = Path(__file__).parent / "sql"
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def split_statements(text: str) -> list[str]:
    """Split a .sql file into statements: each ends with `;` at the end of a line."""
    statements: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("--") and not current:
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if statement.rstrip(";").strip():
                statements.append(statement)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


@cache
def statements(name: str) -> tuple[str, ...]:
    """The statements of `warehouse/sql/<name>.sql`, read once."""
    return tuple(split_statements((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")))


def execute(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> duckdb.DuckDBPyConnection:
    """Run every statement of a named .sql file, binding only the `$params` each one uses."""
    for statement in statements(name):
        used = {key: params[key] for key in _PARAM.findall(statement)}
        con.execute(statement, used or None)
    return con
