"""Several `passive` processes writing one DuckLake ledger at once, and one killed mid-load,
with a SQLite catalog and with a PostgreSQL one: compared with the same inputs loaded one after
another into a file ledger."""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from flows.ingest_steps import ingest_files
from sandbox.amazon_reports import write_earnings_report
from tests.lake_helpers import (
    Postgres,
    finish,
    kill_when,
    passive,
    postgres_missing,
    postgres_server,
    sqlite_lake,
    state,
)
from warehouse.connection import ledger, open_ledger
from warehouse.publish import transaction

MONTHS = ((date(2025, 1, 1), date(2025, 1, 31)), (date(2025, 2, 1), date(2025, 2, 28)))
ACCOUNTS = ("shop-a", "shop-b")
LINES = 3_000


@dataclass(frozen=True)
class Lake:
    """A DuckLake ledger's `--db` and the folder its Parquet files go to."""

    db: str
    data: Path


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    why = postgres_missing()
    if why:
        pytest.skip(why)
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def new_lake(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Path], Lake]:
    """Makes an empty DuckLake ledger with data in `<folder>/ledger-data/`, on either catalog."""
    postgres = request.getfixturevalue("postgres") if request.param == "postgres" else None

    def make(folder: Path) -> Lake:
        folder.mkdir(exist_ok=True)
        data = folder / "ledger-data"
        # The writers' processes inherit it: a Postgres catalog names no folder of its own.
        monkeypatch.setenv("PASSIVE_DATA_PATH", str(data))
        if postgres is None:
            db = sqlite_lake(folder)
        else:
            db = f"ducklake:postgres:{postgres.new_catalog(f'lake_{uuid.uuid4().hex[:12]}')}"
        open_ledger(db).close()  # migrated first: the writers race over loads, not the schema
        return Lake(db, data)

    return make


@dataclass(frozen=True)
class Inputs:
    """Each account's reports, and file ledgers holding them loaded one after another."""

    reports: dict[str, list[Path]]
    both: dict[str, list[tuple[object, ...]]]  # state of a file ledger with both accounts
    only_a: dict[str, list[tuple[object, ...]]]  # ... with shop-a's reports only


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    folder = tmp_path_factory.mktemp("writers")
    reports: dict[str, list[Path]] = {}
    for number, account in enumerate(ACCOUNTS):
        reports[account] = []
        for month, (start, end) in enumerate(MONTHS):
            path = folder / f"{account}-{start:%Y-%m}.csv"
            write_earnings_report(
                path,
                marketplace="US",
                period_start=start,
                period_end=end,
                lines=LINES,
                seed=10 * number + month,
            )
            reports[account].append(path)
    only_a, both = folder / "only-a.duckdb", folder / "both.duckdb"
    for db, accounts in ((only_a, ACCOUNTS[:1]), (both, ACCOUNTS)):
        for account in accounts:
            summary = ingest_files(reports[account], db=db, account=account, marketplace="US")
            assert summary.exit_code == 0
    return Inputs(reports, state(both), state(only_a))


def _ingest(reports: list[Path], account: str, db: str):
    return passive("ingest", *map(str, reports), "--account", account, "--db", db)


def test_two_processes_writing_different_accounts_at_once_both_land_nothing_lost_or_doubled(
    inputs, new_lake, tmp_path
):
    lake = new_lake(tmp_path).db
    writers = [_ingest(inputs.reports[account], account, lake) for account in ACCOUNTS]
    outcomes = [finish(process) for process in writers]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert state(lake) == inputs.both
    with ledger(lake, read_only=True) as con:
        runs = con.execute("SELECT account, status FROM ingest_runs ORDER BY ALL").fetchall()
    assert runs == [(account, "completed") for account in ACCOUNTS for _ in MONTHS]


def test_two_processes_loading_the_same_account_at_once_land_it_once(inputs, new_lake, tmp_path):
    lake = new_lake(tmp_path).db
    reports = inputs.reports["shop-a"]
    # --force: neither may skip a report as already loaded; both really load every one.
    writers = [
        passive("ingest", *map(str, reports), "--account", "shop-a", "--force", "--db", lake)
        for _ in range(2)
    ]
    outcomes = [finish(process) for process in writers]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert state(lake) == inputs.only_a


@dataclass(frozen=True)
class Restatement:
    """A report, its restatement, the ledger state before and after it, and the data files
    a clean run of the restatement writes."""

    first: Path
    restated: Path
    before: dict[str, list[tuple[object, ...]]]
    after: dict[str, list[tuple[object, ...]]]
    files_written: int


def _data_files(lake: Lake) -> int:
    return sum(1 for _ in lake.data.rglob("*.parquet"))


def _ingested(lake: Lake, first: Path) -> Lake:
    assert ingest_files([first], db=Path(lake.db), account="me", marketplace="US").exit_code == 0
    return lake


@pytest.fixture(scope="module")
def restatement(tmp_path_factory: pytest.TempPathFactory) -> Restatement:
    """Measured on a SQLite catalog; a Postgres one writes the same data files."""
    folder = tmp_path_factory.mktemp("restated")
    first, restated = folder / "first.csv", folder / "restated.csv"
    # Another seed: most lines of the period are replaced, so the load appends new lines AND
    # retires as many (as in test_kill_during_ingest.py).
    for path, seed in ((first, 1), (restated, 2)):
        write_earnings_report(
            path,
            marketplace="US",
            period_start=date(2025, 1, 1),
            period_end=date(2025, 3, 31),
            lines=3_000,
            seed=seed,
        )
    clean = folder / "clean"
    clean.mkdir()
    lake = Lake(sqlite_lake(clean), clean / "ledger-data")
    _ingested(lake, first)
    before, files = state(lake.db), _data_files(lake)
    code, err = finish(_ingest([restated], "me", lake.db))
    assert code == 0, err
    after = state(lake.db)
    assert before != after
    assert {row[3] for row in after["commission_changes"]} >= {"inserted", "removed"}
    return Restatement(first, restated, before, after, _data_files(lake) - files)


# When to SIGKILL the restating ingest: once this many new Parquet files are in the data path
# (the append's, then the publish's delete files), as a share of what a clean run writes.
# (A clean run writes a dozen: the append's lines and audit rows, then the publish's delete
# files for retired lines and for the rows of ledger_loads and ingest_runs it updates.)
KILL_AT = {"the first new data file": 0.0, "all but the last data file": 1.0}


@pytest.mark.parametrize(
    ("new_lake", "point"),
    # Both points on SQLite; on Postgres (whose catalog commits differently) the later one.
    [("sqlite", point) for point in KILL_AT] + [("postgres", "all but the last data file")],
    indirect=["new_lake"],
)
def test_a_writer_killed_mid_load_leaves_the_ducklake_as_it_was(
    point, restatement, new_lake, tmp_path
):
    lake = _ingested(new_lake(tmp_path), restatement.first)
    assert state(lake.db) == restatement.before
    baseline = _data_files(lake)
    wanted = 1 + int(KILL_AT[point] * (restatement.files_written - 2))
    process = _ingest([restatement.restated], "me", lake.db)
    status = kill_when(process, lambda: _data_files(lake) - baseline >= wanted)
    if point == "the first new data file":
        assert status == -signal.SIGKILL  # the load had barely begun
    seen = state(lake.db)
    assert seen in (restatement.before, restatement.after), f"killed at {point} (exit {status})"

    # The next writer on this host finds the dead run: interrupted, nothing of it visible.
    open_ledger(lake.db).close()
    with ledger(lake.db, read_only=True) as con:
        cut = con.execute(
            "SELECT status, finished_at IS NOT NULL FROM ingest_runs"
            " WHERE status NOT IN ('completed', 'completed_with_rejects')"
        ).fetchall()
        hidden = con.execute("SELECT count(*) FROM ledger_loads WHERE NOT published").fetchone()
    assert all(row == ("interrupted", True) for row in cut), cut
    assert len(cut) <= 1 and hidden == (0,)
    assert state(lake.db) == seen

    # Running it again converges to the clean result, audit rows neither lost nor doubled.
    if seen != restatement.after:
        code, err = finish(_ingest([restatement.restated], "me", lake.db))
        assert code == 0, err
    assert state(lake.db) == restatement.after


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3-compatible object store on loopback (moto's server) with an empty bucket; the AWS
    variables a worker would have point at it."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "passive-test",
        "AWS_SECRET_ACCESS_KEY": "passive-test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="ledger")
    try:
        yield endpoint
    finally:
        server.stop()


def test_a_postgres_catalog_with_an_s3_data_path_holds_the_same_ledger(
    inputs, postgres, s3_bucket, monkeypatch
):
    import boto3

    # The README's set-up for several machines: catalog in PostgreSQL, Parquet in a bucket.
    monkeypatch.setenv("PASSIVE_DATA_PATH", "s3://ledger/passive/")
    db = f"ducklake:postgres:{postgres.new_catalog(f'lake_{uuid.uuid4().hex[:12]}')}"
    summary = ingest_files(
        inputs.reports["shop-a"], db=Path(db), account="shop-a", marketplace="US"
    )
    assert summary.exit_code == 0
    monkeypatch.delenv("PASSIVE_DATA_PATH")  # a worker needs only the catalog: it remembers
    assert state(db) == inputs.only_a
    listed = boto3.client("s3", endpoint_url=s3_bucket).list_objects_v2(Bucket="ledger")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any(key.startswith("passive/main/") and key.endswith(".parquet") for key in keys)


def _insert_if_absent_at_once(db: str, *, exclusive: bool, overlap: bool = True) -> int:
    """Two writers each insert the same new fixing if absent, both inside their transaction
    before either commits (`overlap`; a SQLite catalog's writers take turns, so there they
    only race to it); how many rows of it the ledger then holds."""
    both_in = threading.Barrier(2, timeout=60)

    def writer() -> None:
        with ledger(db) as con:
            attempts = [0]

            def step() -> None:
                attempts[0] += 1
                con.execute(
                    "INSERT INTO fx_rates SELECT DATE '2025-01-02', 'USD', 1.0345, 'test', 'r'"
                    " WHERE NOT EXISTS (SELECT 1 FROM fx_rates WHERE day = DATE '2025-01-02')"
                )
                if overlap and attempts[0] == 1:
                    both_in.wait()  # the other has read "absent" too

            transaction(con, step, what="test", exclusive=exclusive)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with ledger(db, read_only=True) as con:
        row = con.execute("SELECT count(*) FROM fx_rates").fetchone()
    assert row is not None
    return int(row[0])


def test_two_writers_inserting_the_same_new_key_at_once_land_it_once(new_lake, tmp_path, request):
    lake = new_lake(tmp_path / "exclusive").db
    on_postgres = "postgres" in request.node.callspec.id
    assert _insert_if_absent_at_once(lake, exclusive=True, overlap=on_postgres) == 1
    if on_postgres:
        # The reason for the turn: on a Postgres catalog two insert-only commits both land.
        assert _insert_if_absent_at_once(new_lake(tmp_path / "plain").db, exclusive=False) == 2


@pytest.mark.parametrize("new_lake", ["sqlite", "postgres"], indirect=True)
def test_two_processes_pulling_different_api_accounts_at_once_land_what_one_after_another_does(
    new_lake, tmp_path, monkeypatch
):
    import os

    from bench.accounts_bench import pull_all
    from sandbox.dataset import Dataset
    from sandbox.server import run_sandbox

    lake = new_lake(tmp_path / "lake")
    # Two impact.com, Awin and CJ accounts each (passive.toml [accounts.*]), small ones.
    dataset = Dataset(3, impact_actions=120, awin_transactions=80, cj_commissions=80)
    with run_sandbox(dataset, accounts=2) as sandbox:
        env = {**os.environ, **sandbox.env(), "PREFECT_API_URL": "", "PASSIVE_CONFIG": ""}
        env |= {
            f"PASSIVE_{n.upper()}_RATE_LIMIT_REQUESTS": "100000" for n in ("impact", "awin", "cj")
        }
        since = dataset.start.isoformat()
        one_by_one = tmp_path / "file"
        one_by_one.mkdir()
        serial = pull_all(6, str(one_by_one / "ledger.duckdb"), one_by_one, env, since, workers=1)
        together = pull_all(6, lake.db, tmp_path / "lake", env, since, workers=2)
    assert serial["codes"] == [0] and together["codes"] == [0, 0], together
    expected = state(one_by_one / "ledger.duckdb")
    assert len({row[1] for row in expected["commissions"]}) == 6  # six accounts, all pulled
    assert state(lake.db) == expected
