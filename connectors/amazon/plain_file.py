"""A report as a plain file DuckDB's reader can open, and its data lines found again by
ordinal for the lines that reader could not vouch for (warehouse/amazon_scan.py)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .reports import ReportFile, _open_binary, _open_text


class LinesNotFollowedError(Exception):
    """The file's lines cannot be matched to the rows DuckDB numbered: read it in Python."""


@contextlib.contextmanager
def scan_source(report: ReportFile) -> Iterator[Path]:
    """A plain file DuckDB can read: the report itself, or its zip member copied out."""
    if report.member is None:
        yield report.source
        return
    with tempfile.TemporaryDirectory(prefix="passive-scan-") as folder:
        target = Path(folder) / "report.csv"
        with (
            _open_binary(report.source, report.member, report.name) as src,
            target.open("wb") as out,
        ):
            shutil.copyfileobj(src, out, 1 << 20)
        yield target


def data_lines(report: ReportFile, ordinals: set[int]) -> dict[int, tuple[int, str]]:
    """The physical line number and text of the data rows DuckDB numbered `ordinals`.

    DuckDB skips empty lines and numbers the rest in order; a quoted line break would make
    one row span lines, so then the numbering cannot be followed (LinesNotFollowedError).
    """
    found: dict[int, tuple[int, str]] = {}
    wanted = max(ordinals, default=-1)
    ordinal = -1
    with _open_text(report.source, report.member, report.name, report.encoding) as text:
        for line_no, line in enumerate(text, start=1):
            if line_no <= report.header_line:
                continue
            if '"' in line and line.count('"') & 1:
                raise LinesNotFollowedError("a quoted field spans lines")
            if not line.rstrip("\r\n"):
                continue
            ordinal += 1
            if ordinal in ordinals:
                found[ordinal] = (line_no, line)
                if ordinal == wanted:
                    break
    if len(found) != len(ordinals):
        raise LinesNotFollowedError("DuckDB read rows the file's lines do not hold")
    return found
