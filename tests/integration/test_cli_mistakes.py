"""Every user mistake through the real `passive` app: one `error:` line, no traceback, exit 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner, Result

from flows.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"
US = FIXTURES / "us_earnings.csv"


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """In-process runs (no Prefect API), from a folder of the test's own (where .env is read)."""
    monkeypatch.setenv("PREFECT_API_URL", "")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def passive(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def assert_one_error_line(result: Result, *expected: str) -> str:
    """Exit 2 and stderr is one `error:` line holding every expected fragment."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    for fragment in expected:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["ingest", "tally", "rejects", "pull"])
def test_db_in_a_missing_folder_is_one_line(in_process, sandbox, command):
    db = str(in_process / "no-such-folder" / "ledger.duckdb")
    args = {
        "ingest": ["ingest", str(US), "--account", "me"],
        "tally": ["tally"],
        "rejects": ["rejects"],
        "pull": ["pull", "awin"],
    }[command]
    assert_one_error_line(passive(*args, "--db", db), "no-such-folder", "does not exist")
    assert not (in_process / "no-such-folder").exists()


@pytest.mark.parametrize("command", ["ingest", "tally"])
def test_db_that_is_a_folder_is_one_line(in_process, command):
    args = ["ingest", str(US), "--account", "me"] if command == "ingest" else ["tally"]
    assert_one_error_line(passive(*args, "--db", str(in_process)), "is a folder")


@pytest.mark.parametrize("content", [b"", b"not a database at all, just some text\n" * 4])
def test_db_that_is_not_a_duckdb_file_is_one_line_and_left_alone(in_process, content):
    db = in_process / "notes.duckdb"
    db.write_bytes(content)
    for args in (["ingest", str(US), "--account", "me"], ["tally"]):
        assert_one_error_line(passive(*args, "--db", str(db)), str(db), "not a ledger")
    assert db.read_bytes() == content


def test_malformed_base_url_in_dotenv_names_the_setting_and_its_source(
    in_process, sandbox, monkeypatch
):
    monkeypatch.delenv("PASSIVE_AWIN_BASE_URL")
    (in_process / ".env").write_text(
        f"PASSIVE_AWIN_BASE_URL={sandbox.base_url}/publishers\n", encoding="utf-8"
    )
    line = assert_one_error_line(
        passive("pull", "awin", "--db", str(in_process / "l.duckdb")),
        "PASSIVE_AWIN_BASE_URL",
        ".env",
        "scheme and host only",
    )
    assert "pydantic" not in line


def test_malformed_base_url_in_the_environment_says_environment(in_process, sandbox, monkeypatch):
    monkeypatch.setenv("PASSIVE_CJ_BASE_URL", "ftp://example")
    assert_one_error_line(
        passive("pull", "cj", "--db", str(in_process / "l.duckdb")),
        "PASSIVE_CJ_BASE_URL (from the environment)",
    )


def test_a_folder_given_to_ingest_says_it_is_a_folder(in_process):
    reports = in_process / "reports"
    reports.mkdir()
    line = assert_one_error_line(
        passive("ingest", str(reports), "--account", "me", "--db", str(in_process / "l.duckdb")),
        "is a folder",
    )
    assert "no such file" not in line


def test_tally_of_an_unknown_network_names_the_known_ones(in_process):
    db = str(in_process / "l.duckdb")
    assert passive("ingest", str(US), "--account", "me", "--db", db).exit_code == 0
    assert_one_error_line(
        passive("tally", "--network", "amazn", "--db", db), "amazn", "amazon, awin, cj, impact"
    )
    assert passive("tally", "--network", "amazon", "--db", db).exit_code == 0


def test_pull_help_shows_the_base_url_setting_literally():
    result = passive("pull", "--help")
    assert result.exit_code == 0
    assert "PASSIVE_<NETWORK>_BASE_URL" in re.sub(r"\s+", " ", result.output)


def test_pull_accounts_for_every_record_it_read(in_process, sandbox):
    db = in_process / "l.duckdb"
    result = passive("pull", "awin", "--db", str(db))
    assert result.exit_code == 0, result.output
    match = re.search(
        r"(\d+) records: (\d+) new, (\d+) changed, (\d+) unchanged, (\d+) rejected", result.stdout
    )
    assert match, result.stdout
    read, new, changed, unchanged, rejected = map(int, match.groups())
    assert read == new + changed + unchanged + rejected
    with duckdb.connect(str(db), read_only=True) as con:
        (lines,) = con.execute("SELECT count(*) FROM commissions").fetchone() or (0,)
    assert new == lines
    # Awin is read by transaction date, then by validation date: validated records come twice.
    assert unchanged > 0


def test_a_failed_tracked_pull_ends_with_one_error_line(prefect_harness, sandbox, tmp_path):
    from prefect.settings import PREFECT_API_URL

    # The real console script in its own process, tracked by the session's Prefect server as
    # while `passive serve` runs; Prefect's console logs go to the same stderr.
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    env["PASSIVE_IMPACT_AUTH_TOKEN"] = "wrong-token"
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "pull", "impact", "--db", str(tmp_path / "l.duckdb")],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: pull impact failed: "), result.stderr
    assert "(401)" in last
    assert result.stderr.count("Traceback") <= 1, result.stderr


def test_a_pull_names_the_account_by_its_name_never_its_sid(in_process, sandbox, monkeypatch):
    from sandbox.server import SANDBOX_IMPACT_SID

    db = str(in_process / "l.duckdb")
    unnamed = passive("pull", "impact", "--db", db)
    assert "pulled impact (impact.com account)" in unnamed.stdout, unnamed.output
    monkeypatch.setenv("PASSIVE_IMPACT_ACCOUNT_NAME", "my-blog")
    named = passive("pull", "impact", "--db", db)
    assert "pulled impact (my-blog)" in named.stdout, named.output
    assert SANDBOX_IMPACT_SID not in unnamed.output + named.output


@pytest.mark.parametrize(
    ("db", "expected"),
    [
        ("ducklake:mysql:passive", "expected ducklake:sqlite:PATH"),
        ("ducklake:sqlite:", "expected ducklake:sqlite:PATH"),
        ("ducklake:sqlite:{tmp}/missing/ledger.sqlite", "does not exist"),
        ("ducklake:sqlite:{tmp}/none-yet.sqlite", "no ledger here yet"),
        ("ducklake:sqlite:{tmp}/empty.sqlite", "an empty file, not a DuckLake catalog"),
        ("ducklake:sqlite:{tmp}/junk.sqlite", "not a SQLite database, not a DuckLake catalog"),
    ],
)
def test_a_ducklake_db_that_cannot_be_opened_is_one_line(in_process, db, expected):
    (in_process / "empty.sqlite").write_bytes(b"")
    (in_process / "junk.sqlite").write_bytes(b"not a database at all\n" * 200)
    result = passive("tally", "--db", db.format(tmp=in_process))
    assert_one_error_line(result, expected)


def test_pull_all_with_an_empty_passive_toml_is_one_line_not_an_empty_table(in_process):
    (in_process / "passive.toml").write_text("# accounts come later\n")
    result = passive("pull", "--all")
    assert_one_error_line(result, "passive.toml: no accounts", "[accounts.NAME]")
    assert "┃" not in result.stdout  # no table of nothing


def test_accounts_with_an_empty_passive_toml_says_how_to_add_one(in_process):
    (in_process / "passive.toml").write_text("")
    result = passive("accounts")
    assert result.exit_code == 0, result.output
    assert "passive.toml has no accounts: add an [accounts.NAME] table" in result.stderr
