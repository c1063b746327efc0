"""`Ledger` is the library under both faces: what a script gets is what the CLI prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.ledger import Ledger
from flows.output import plain

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "")


def cli_json(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def as_json(columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[dict[str, object]]:
    return [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def test_the_cli_prints_what_the_library_returns(db, in_process):
    books = Ledger(db)
    summary = books.ingest([FIXTURES / "us_earnings.csv"], account="me")
    assert [r.status for r in summary.reports] == ["loaded"]
    # Mostly bad lines: refused unless forced, and then its bad lines are rejects.
    forced = books.ingest([FIXTURES / "bad_rows.csv"], account="bad", force=True)
    assert forced.total("rejected") > 0
    for by in ("month", "network", "tracking-id"):
        tally = books.tally(by)
        assert tally.rows
        assert cli_json("tally", "--by", by, "--db", str(db)) == as_json(tally.columns, tally.rows)
    rejects = books.rejects(limit=0)
    assert rejects.rows  # bad_rows.csv's
    assert cli_json("rejects", "--limit", "0", "--db", str(db)) == as_json(
        rejects.columns, rejects.rows
    )


def test_a_cli_re_ingest_is_the_library_s_skip(db, in_process):
    books = Ledger(db)
    books.ingest([FIXTURES / "us_earnings.csv"], account="me")
    result = CliRunner().invoke(
        app, ["ingest", str(FIXTURES / "us_earnings.csv"), "--account", "me", "--db", str(db)]
    )
    again = books.ingest([FIXTURES / "us_earnings.csv"], account="me")
    assert result.exit_code == again.exit_code == 0
    assert result.stdout == f"skipped us_earnings.csv: {again.reports[0].message}\n"
