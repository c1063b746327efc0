"""A DuckLake ledger (SQLite catalog, local Parquet files) against the DuckDB file ledger:
same schema, same tallies for the demo's inputs, no download of an extension at run time."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows import pull_steps
from flows.demo import DEMO_NETWORKS, _sandbox_env, run_demo
from flows.ingest_steps import ingest_files
from tests.lake_helpers import quiet, sqlite_lake, state
from warehouse.connection import ledger, open_ledger
from warehouse.fx import tally_in
from warehouse.income import income_rows
from warehouse.tally import GROUPS, tally

# The stable views and what a SQL user reads from them, whole rows.
VIEWS = (
    "revenue_daily",
    "revenue_monthly",
    "income_monthly",
    "payouts_expected",
    "unpaid_overdue",
    "payments_reconciliation",
)

SCHEMA = """
SELECT table_name, column_name, column_index, data_type, is_nullable
FROM duckdb_columns() WHERE database_name = current_database() ORDER BY ALL
"""
MACROS = """
SELECT function_name, function_type FROM duckdb_functions()
WHERE database_name = current_database() AND function_type LIKE '%macro%' ORDER BY ALL
"""


def test_a_ducklake_ledger_has_the_file_ledgers_tables_columns_views_and_macros(tmp_path):
    file_db, lake = tmp_path / "ledger.duckdb", sqlite_lake(tmp_path)
    for db in (file_db, lake):
        open_ledger(db).close()
    # Read back through fresh connections: what the lake's catalog kept, not this session's.
    with ledger(file_db, read_only=True) as con:
        file_schema, file_macros = con.execute(SCHEMA).fetchall(), con.execute(MACROS).fetchall()
    with ledger(lake, read_only=True) as con:
        lake_schema, lake_macros = con.execute(SCHEMA).fetchall(), con.execute(MACROS).fetchall()
    tables = {row[0] for row in file_schema}
    assert {"commissions", "commission_lines", "ledger_loads", "revenue_monthly"} <= tables
    assert lake_schema == file_schema
    assert ("revenue_monthly_in", "table_macro") in file_macros
    assert lake_macros == file_macros


def test_the_ducklake_extensions_load_from_the_installed_wheels_with_autoinstall_off(tmp_path):
    # A fresh HOME: DuckDB's extension directory (~/.duckdb/extensions) is empty, so nothing
    # installed earlier can be what loads; autoinstall is off, so nothing can be fetched.
    home = tmp_path / "home"
    home.mkdir()
    script = f"""
from warehouse.connection import open_ledger
con = open_ledger({sqlite_lake(tmp_path)!r})
print(con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone()[0])
print(sorted(r[0] for r in con.execute(
    "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND install_path = ''"
).fetchall()))
print(con.execute("SELECT count(*) FROM commissions").fetchone()[0])
"""
    env = {**os.environ, "HOME": str(home), "http_proxy": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9"}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["False", "['ducklake', 'sqlite_scanner']", "0"]
    assert not (home / ".duckdb").exists()


@dataclass(frozen=True)
class DemoLedgers:
    """The demo's inputs run into a file ledger and into a DuckLake ledger."""

    file: Path
    lake: str
    workdir: Path


@pytest.fixture(scope="module")
def demo_ledgers(tmp_path_factory: pytest.TempPathFactory) -> DemoLedgers:
    folder = tmp_path_factory.mktemp("demo")
    file_db, lake = folder / "ledger.duckdb", sqlite_lake(folder)
    codes = [
        run_demo(db=Path(db), workdir=folder / name, use_prefect=False, console=quiet())
        for db, name in ((file_db, "file-inputs"), (lake, "lake-inputs"))
    ]
    assert codes == [0, 0]
    return DemoLedgers(file_db, lake, folder / "lake-inputs")


def _tallies(db: str | Path) -> dict[str, object]:
    with ledger(db, read_only=True) as con:
        found: dict[str, object] = {f"tally --by {by}": tally(con, by).rows for by in GROUPS}  # type: ignore[arg-type]
        found["tally in EUR"] = tally_in(con, "month", "EUR").rows
        found["income"] = income_rows(con)
        for view in VIEWS:
            found[view] = con.execute(f"SELECT * FROM {view} ORDER BY ALL").fetchall()
    return found


def test_the_ducklake_ledger_gives_exactly_the_file_ledgers_tallies_for_the_demo(demo_ledgers):
    file_tallies = _tallies(demo_ledgers.file)
    assert len(file_tallies["tally --by account"]) > 5  # type: ignore[arg-type]
    assert _tallies(demo_ledgers.lake) == file_tallies
    assert state(demo_ledgers.lake) == state(demo_ledgers.file)


def test_running_the_demo_inputs_again_into_the_ducklake_changes_nothing(demo_ledgers):
    before = state(demo_ledgers.lake)
    lake = Path(demo_ledgers.lake)
    # Not December: its restated download must come after the first one, as in the demo.
    reports = sorted(demo_ledgers.workdir.glob("Fee-Earnings-US-2025-1[01].*"))
    assert len(reports) == 2
    # --force: the reports are loaded over their periods again, not skipped as seen content.
    summary = ingest_files(reports, db=lake, account="demo-us", marketplace="US", force=True)
    assert summary.exit_code == 0
    with _sandbox_env(quiet()):
        for network in DEMO_NETWORKS:
            pulled = pull_steps.pull(network, db=lake)
            assert pulled.status == "completed", pulled.message
            assert pulled.result is not None and pulled.result.inserted == 0
    assert state(demo_ledgers.lake) == before


def test_writers_that_open_a_new_ducklake_at_once_all_get_it_migrated_once(tmp_path):
    lake = sqlite_lake(tmp_path)
    script = f"from warehouse.connection import open_ledger; open_ledger({lake!r}).close()"
    # Processes, not threads: one process opens a lake once and shares it among its threads.
    writers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert [writer.wait() for writer in writers] == [0] * 4
    with ledger(lake, read_only=True) as con:
        counts = con.execute("SELECT name, count(*) FROM _migrations GROUP BY name").fetchall()
    assert counts and all(count == 1 for _, count in counts)
    assert any(name.startswith("008_") for name, _ in counts)


def test_a_sqlite_catalogs_writers_take_turns_to_commit_and_a_turn_is_reentrant(tmp_path):
    import fcntl

    from warehouse import lake as lake_module

    lake = sqlite_lake(tmp_path)
    catalog_file = lake_module.parse(lake).catalog_file
    assert catalog_file is not None
    with ledger(lake) as con, lake_module.commit_turn(con):
        # Another writer (another open of the lock file, as another process makes) must wait.
        with open(f"{catalog_file}.commits", "a") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with lake_module.commit_turn(con):  # nested in the same thread: no self-deadlock
            pass
    with open(f"{catalog_file}.commits", "a") as other:  # released after the turn
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
