"""`passive ingest` of content the ledger holds: answered lightly, exactly as the full command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows import cli
from flows.cli import _parse_ingest, _plain, _reingest_unchanged, app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"
US = FIXTURES / "us_earnings.csv"
ROOT = Path(__file__).parents[2]
# Piped, uncoloured output: what scripts and the bench see.
ENV = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
ENV |= {"PREFECT_API_URL": ""}
_LIGHT_RUN = """
import sys
from flows.cli import _reingest_unchanged
code = _reingest_unchanged(sys.argv[1:])
heavy = [m for m in ("typer", "rich", "pydantic", "pyarrow", "prefect", "flows.ingest_steps")
         if m in sys.modules]
print("LIGHT", code, ",".join(heavy) or "-")
"""


def passive(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True, text=True, env=ENV, cwd=ROOT, check=False,
    )  # fmt: skip


def runs(db: Path) -> list[tuple[object, ...]]:
    """ingest_runs without the columns that differ between any two runs (id, times)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT source, network, account, file_name, content_hash, window_start, window_end,"
            " status, records_read, lines_loaded, lines_rejected, lines_inserted, lines_changed,"
            " lines_removed, message, flow_run_id FROM ingest_runs ORDER BY started_at"
        ).fetchall()


def run_count(db: Path) -> int:
    return len(runs(db))


def test_a_re_ingest_prints_and_records_what_the_full_command_does(db, tmp_path, snapshot):
    renamed = tmp_path / "renamed.csv"
    shutil.copyfile(US, renamed)
    first = passive("ingest", str(US), "--account", "me", "--db", str(db))
    assert first.returncode == 0, first.stderr
    before = snapshot(db)
    args = ("ingest", str(US), str(renamed), "--account=me", "--db", str(db), "--no-force")
    light = passive(*args)
    full = CliRunner().invoke(app, list(args))
    assert (light.returncode, light.stdout, light.stderr) == (
        full.exit_code, full.stdout, full.stderr
    )  # fmt: skip
    assert light.stdout == (
        "skipped us_earnings.csv: same content as us_earnings.csv, already ingested"
        " (use --force to re-apply)\n"
        "skipped renamed.csv: same content as us_earnings.csv, already ingested"
        " (use --force to re-apply)\n"
    )
    assert snapshot(db) == before
    recorded = runs(db)
    assert len(recorded) == 5
    assert recorded[1:3] == recorded[3:5]  # the light path's rows, then the full command's


def test_the_light_path_answers_without_the_heavy_imports(db):
    assert passive("ingest", str(US), "--account", "me", "--db", str(db)).returncode == 0
    done = subprocess.run(
        [sys.executable, "-c", _LIGHT_RUN, "ingest", str(US), "--account", "me", "--db", str(db)],
        capture_output=True, text=True, env=ENV, cwd=ROOT, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "LIGHT 0 -"


def test_anything_but_known_content_is_left_to_the_full_command(db, tmp_path):
    new = tmp_path / "crlf.csv"
    shutil.copyfile(FIXTURES / "us_direct_crlf_bom.csv", new)
    base = ("--account", "me", "--db", str(db))
    assert _reingest_unchanged(["ingest", str(US), *base]) is None  # no ledger yet
    assert not db.exists()
    assert passive("ingest", str(US), *base).returncode == 0
    count = run_count(db)
    for argv in (
        ["ingest", str(US), str(new), *base],  # one report is new
        ["ingest", str(US), "--force", *base],
        ["ingest", str(US), "--account", "someone-else", "--db", str(db)],
        ["ingest", str(US), "--marketplace", "XX", *base],
        ["ingest", str(US), "--network", "impact", *base],
        ["ingest", str(tmp_path / "missing.csv"), *base],
    ):
        assert _reingest_unchanged(argv) is None, argv
    assert run_count(db) == count  # nothing was written on the way


def test_a_file_that_is_not_utf8_still_stops_everything_before_loading(db, tmp_path, snapshot):
    # The bad byte lies past the first read-ahead, so only the whole-file check can find it.
    lines = US.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join([*lines[:2], *[lines[2]] * 5_000, *lines[2:]])
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(text.replace("Café", "Caf\udce9").encode("utf-8", "surrogateescape"))
    base = ("--account", "me", "--db", str(db))
    assert passive("ingest", str(US), *base).returncode == 0
    before = snapshot(db)
    done = passive("ingest", str(US), str(bad), *base)  # one known report, one not UTF-8
    assert done.returncode == 2
    assert "latin1.csv:5005: byte 0xe9 is not valid" in done.stderr
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("argv", "parsed"),
    [
        (["ingest", "a.csv", "--account", "me"], (["a.csv"], {"--account": "me"})),
        (
            ["ingest", "--db=x.duckdb", "a.csv", "b.zip", "--account=me", "--marketplace", "uk"],
            (["a.csv", "b.zip"], {"--db": "x.duckdb", "--account": "me", "--marketplace": "uk"}),
        ),
        (["ingest", "a.csv", "--account", "me", "--no-force"], (["a.csv"], {"--account": "me"})),
        (["ingest", "a.csv", "--account", "me", "--force"], None),
        (["ingest", "a.csv"], None),
        (["ingest", "--account", "me"], None),
        (["ingest", "a.csv", "--account"], None),
        (["ingest", "a.csv", "--account", "me", "--account", "you"], None),
        (["ingest", "a.csv", "--account", "--db", "x"], None),
        (["ingest", "a.csv", "--account", "me", "--help"], None),
        (["ingest", "a.csv", "--account", "me", "--", "-b.csv"], None),
        (["ingest", "a.csv", "--acc", "me"], None),
        (["ingest", "a.csv", "--account="], None),
        (["tally"], None),
        ([], None),
    ],
)
def test_only_plain_ingest_arguments_take_the_light_path(argv, parsed):
    assert _parse_ingest(argv) == parsed


def test_text_rich_would_change_is_left_to_rich():
    assert _plain("skipped a.csv: same content as a.csv, already ingested")
    assert not _plain("skipped [bold]a.csv: same")
    assert not _plain("skipped a:thumbs_up:.csv: same")
    assert not _plain("skipped x.zip:inner.csv: same")
    assert not _plain("skipped caf\u00e9.csv: same")
    assert not _plain("skipped a\tb.csv: same")
    assert not _plain("skipped " + "a" * 300)


def test_the_typer_app_is_still_importable_from_flows_cli():
    assert cli.app is app
    with pytest.raises(AttributeError):
        _ = cli.no_such_name
