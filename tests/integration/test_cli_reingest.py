"""`passive ingest` of content the ledger holds: answered from the hashes, by the one skip check."""

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
from flows.cli import app
from flows.ingest_summary import open_report_inputs
from flows.ledger import Ledger
from flows.reingest import skip_known

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"
US = FIXTURES / "us_earnings.csv"
ROOT = Path(__file__).parents[2]
# Piped, uncoloured output: what scripts and the bench see.
ENV = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
ENV |= {"PREFECT_API_URL": ""}
# The whole `passive` command, then which heavy modules it loaded: typer (and the pydantic its
# parsing uses) and rich are the command line's own; none of the loading machinery is needed.
_LIGHT_RUN = """
import runpy, sys
sys.argv = ["passive", *sys.argv[1:]]
try:
    runpy.run_module("flows.cli", run_name="__main__")
except SystemExit as done:
    code = done.code
heavy = [m for m in ("pyarrow", "prefect", "flows.ingest_steps", "flows.amazon_validation",
                     "multiprocessing.pool", "httpx") if m in sys.modules]
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
    light = passive(*args)  # a process of its own, as a user runs it
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
    assert recorded[1:3] == recorded[3:5]  # the process's rows, then the in-process command's


def test_the_light_path_answers_without_the_heavy_imports(db):
    assert passive("ingest", str(US), "--account", "me", "--db", str(db)).returncode == 0
    done = subprocess.run(
        [sys.executable, "-c", _LIGHT_RUN, "ingest", str(US), "--account", "me", "--db", str(db)],
        capture_output=True, text=True, env=ENV, cwd=ROOT, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "LIGHT 0 -"


def test_the_skip_check_writes_nothing_unless_every_report_is_known(db, tmp_path):
    new = tmp_path / "crlf.csv"
    shutil.copyfile(FIXTURES / "us_direct_crlf_bom.csv", new)
    assert passive("ingest", str(US), "--account", "me", "--db", str(db)).returncode == 0
    count = run_count(db)
    both = open_report_inputs([US, new], marketplace="US", hash_only=True)
    with duckdb.connect(str(db)) as con:
        assert skip_known(con, both, account="me") is None  # one report is new
        assert skip_known(con, both[:1], account="someone-else") is None
        assert skip_known(con, [], account="me") is None
    assert run_count(db) == count  # nothing was written on the way


def test_anything_but_known_content_takes_the_full_path(db, tmp_path):
    new = tmp_path / "crlf.csv"
    shutil.copyfile(FIXTURES / "us_direct_crlf_bom.csv", new)
    ledger = Ledger(db)
    assert [r.status for r in ledger.ingest([US], account="me").reports] == ["loaded"]
    mixed = ledger.ingest([US, new], account="me")
    assert [r.status for r in mixed.reports] == ["skipped", "loaded"]
    forced = ledger.ingest([US], account="me", force=True)
    assert [r.status for r in forced.reports] == ["loaded"]
    other = ledger.ingest([US], account="someone-else")
    assert [r.status for r in other.reports] == ["loaded"]


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


def test_the_typer_app_is_still_importable_from_flows_cli():
    assert cli.app is app
    with pytest.raises(AttributeError):
        _ = cli.no_such_name
