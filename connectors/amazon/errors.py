"""The one error type the Amazon report reader raises for bad input."""

from __future__ import annotations


class AmazonReportError(ValueError):
    """A report file that cannot be loaded at all: `file:line: what was wrong; expected ...`.

    Raised before any data row of the file is yielded, so nothing from it loads.
    """

    def __init__(self, name: str, line: int | None, problem: str, expected: str = "") -> None:
        where = f"{name}:{line}" if line is not None else name
        message = f"{where}: {problem}"
        if expected:
            message += f"; expected {expected}"
        super().__init__(message)
        self.name = name
        self.line = line
        self.problem = problem
        self.expected = expected

    def __reduce__(self) -> tuple[type[AmazonReportError], tuple[str, int | None, str, str]]:
        # Rows are parsed in worker processes: the error must cross back with its parts.
        return (type(self), (self.name, self.line, self.problem, self.expected))
