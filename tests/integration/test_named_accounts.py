"""Several accounts per network against the sandbox over loopback: each account's lines are
its own, tallied per account exactly as the sandbox's records add up; a failing account
stops no other; a re-run changes nothing; `passive accounts` and `pull --all` say so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows import account_steps
from flows.cli import app
from sandbox.server import SandboxHandle

# Sandbox account numbers behind each passive.toml account (0 is the default account).
ACCOUNTS = {
    "impact-main": ("impact", 1),
    "impact-shop": ("impact", 2),
    "awin-de": ("awin", 1),
    "awin-fr": ("awin", 2),
    "cj-us": ("cj", 3),
}
CONFIG = """
[accounts.impact-main]
network = "impact"

[accounts.impact-shop]
network = "impact"
page_size = 5

# Two publisher accounts of one Awin user: one token (their login), two publisher ids.
[accounts.awin-de]
network = "awin"
publisher_id = "77778"
login = "awin-user"

[accounts.awin-fr]
network = "awin"
publisher_id = "77779"
login = "awin-user"

[accounts.cj-us]
network = "cj"
"""
PER_ACCOUNT = (
    "SELECT currency, status, count(*), sum(sale_amount), sum(commission_amount) "
    "FROM commissions WHERE network = ? AND account = ? GROUP BY ALL ORDER BY ALL"
)


@pytest.fixture(scope="module")
def accounts_server() -> Iterator[SandboxHandle]:
    """A sandbox with three small further accounts per network."""
    from sandbox.server import run_sandbox

    with run_sandbox(5, accounts=3) as handle:
        yield handle


@pytest.fixture
def accounts_env(accounts_server, monkeypatch, tmp_path) -> Path:
    """passive.toml in the working directory, each account's credentials in its variables."""
    accounts_server.reset()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PASSIVE_CONFIG", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "")  # in-process
    for key, value in accounts_server.env().items():
        monkeypatch.setenv(key, value)
    for network in ("impact", "awin", "cj"):
        monkeypatch.setenv(f"PASSIVE_{network.upper()}_RATE_LIMIT_REQUESTS", "100000")
    for name, (network, number) in ACCOUNTS.items():
        if network == "awin":
            continue  # the file gives the ids, the shared login the token
        for key, value in accounts_server.account_env(name, network, number).items():
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("PASSIVE_AWIN_USER_TOKEN", accounts_server.account("awin", 1).token)
    (tmp_path / "passive.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path / "ledger.duckdb"


def expected(sandbox: SandboxHandle, network: str, number: int) -> list[tuple[object, ...]]:
    """The account's ledger totals, summed by hand from the sandbox's own records."""
    totals = sandbox.expected_totals(network, account=number)
    return sorted(
        (currency, status, lines, Decimal(sale), Decimal(commission))
        for (currency, status), (sale, commission, lines) in totals.items()
    )


def tallies(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            name: sorted(con.execute(PER_ACCOUNT, [network, name]).fetchall())
            for name, (network, _) in ACCOUNTS.items()
        }


def passive(*args: str):
    return CliRunner().invoke(app, list(args))


def test_each_account_tallies_its_own_records_and_a_rerun_changes_nothing(
    accounts_server, accounts_env, snapshot
):
    db = accounts_env
    # Fixed days, so that the second run's cursor is the first's (a pull "to now" moves it).
    days = [
        "--since",
        f"{accounts_server.dataset.start}",
        "--until",
        f"{accounts_server.dataset.end}",
    ]
    result = passive("pull", "--all", "--db", str(db), *days)
    assert result.exit_code == 0, result.output
    for name in ACCOUNTS:
        assert f" {name}: " in result.output  # one line per account
    got = tallies(db)
    for name, (network, number) in ACCOUNTS.items():
        assert got[name] == expected(accounts_server, network, number), name
        assert got[name], f"{name} pulled nothing: the test would prove nothing"
    # Nothing filed under a login's id or another account's name: every line is one of them.
    with duckdb.connect(str(db), read_only=True) as con:
        held = {
            row[0] for row in con.execute("SELECT DISTINCT account FROM commissions").fetchall()
        }
    assert held == set(ACCOUNTS)
    before = snapshot(db)
    again = passive("pull", "--all", "--db", str(db), *days)
    assert again.exit_code == 0, again.output
    after = snapshot(db)
    # The lines and their history are the same; the cursors were saved again at the same day
    # (by the new runs, so only their run ids and save times differ).
    assert after["commissions"] == before["commissions"]
    assert after["commission_changes"] == before["commission_changes"]
    assert after["rejects"] == before["rejects"]
    cursors = [row[:4] for row in after["ingest_state"]]
    assert cursors == [row[:4] for row in before["ingest_state"]]
    assert len(cursors) == len(ACCOUNTS)


def test_one_failing_account_does_not_stop_the_others(accounts_server, accounts_env, monkeypatch):
    db = accounts_env
    monkeypatch.setenv("PASSIVE_IMPACT_SHOP_AUTH_TOKEN", "not-the-token")
    result = passive("pull", "impact", "--db", str(db))
    assert result.exit_code == 2, result.output
    assert "impact impact-shop: failed" in result.stderr
    got = tallies(db)
    assert got["impact-main"] == expected(accounts_server, "impact", 1)
    assert got["impact-shop"] == []
    # Only impact was asked for.
    assert got["cj-us"] == []


def test_account_option_pulls_that_account_alone(accounts_server, accounts_env):
    db = accounts_env
    result = passive("pull", "awin", "--account", "awin-fr", "--db", str(db))
    assert result.exit_code == 0, result.output
    got = tallies(db)
    assert got["awin-fr"] == expected(accounts_server, "awin", 2)
    assert got["awin-de"] == []


def test_accounts_lists_networks_credential_sources_and_last_pulls(accounts_env):
    db = accounts_env
    assert passive("pull", "cj", "--db", str(db)).exit_code == 0
    result = passive("accounts", "--db", str(db), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["account"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(ACCOUNTS)
    assert rows["cj-us"]["network"] == "cj"
    assert rows["cj-us"]["last pull"].endswith(" completed")
    assert rows["impact-main"]["last pull"] == "never"
    assert "token: $PASSIVE_CJ_US_TOKEN" in rows["cj-us"]["credentials"]
    assert rows["awin-de"]["credentials"] == (
        "token: $PASSIVE_AWIN_USER_TOKEN; publisher_id: passive.toml"
    )


def test_the_fan_out_in_process_holds_a_networks_limit(accounts_env, monkeypatch):
    # Two impact accounts, a limit of one: the second starts only when the first is done.
    monkeypatch.setenv("PASSIVE_IMPACT_PARALLEL_ACCOUNTS", "1")
    slots = account_steps.NetworkSlots()
    held: list[int] = []
    inside = [0]
    real = account_steps.pull_account

    def watched(account, **kwargs):
        inside[0] += 1
        held.append(inside[0])
        try:
            return real(account, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(account_steps, "pull_account", watched)
    chosen = account_steps.select_accounts("impact")
    summary = account_steps.pull_accounts(chosen, db=accounts_env, slots=slots)
    assert [o.status for o in summary.outcomes] == ["completed", "completed"]
    assert max(held) == 1


def test_the_scheduled_pull_fans_out_one_named_sub_flow_run_per_account(
    prefect_harness, accounts_server, accounts_env, monkeypatch
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort

    from flows.pull import pull_network

    db = accounts_env
    monkeypatch.setenv("PASSIVE_IMPACT_SHOP_AUTH_TOKEN", "not-the-token")
    # impact-daily's call: no account, so with passive.toml every impact account.
    state = pull_network("impact", db=str(db), return_state=True)
    assert state.is_completed() and state.name == "Completed with rejects"
    assert "impact impact-shop failed" in state.message
    summary = state.result()
    outcomes = {o.account: o.status for o in summary.outcomes}
    assert outcomes == {"impact-main": "completed", "impact-shop": "failed"}
    assert tallies(db)["impact-main"] == expected(accounts_server, "impact", 1)
    with get_client(sync_client=True) as client:
        # The newest first: the session's shared server holds more runs than one page.
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=100)
        tasks = client.read_task_runs()
        artifacts = client.read_artifacts(sort=ArtifactSort.CREATED_DESC)
    # The UI shows a run per account, named after it; the failed one failed alone. (Only
    # this test's runs: other tests, the demo's among them, share the harness's server.)
    names = {
        " ".join(r.name.split()[:3]): r.state_type.value
        for r in runs
        if r.name.startswith("pull impact impact-") and r.parameters.get("db") == str(db)
    }
    assert names == {"pull impact impact-main": "COMPLETED", "pull impact impact-shop": "FAILED"}
    assert {t.name for t in tasks} >= {"account impact impact-main", "account impact impact-shop"}
    texts = [str(a.data) for a in artifacts if a.key == "accounts-pull"]
    assert texts and "| impact | impact-shop | failed |" in texts[0]
    assert "| impact | impact-main | completed |" in texts[0]


def test_amazon_stores_of_passive_toml_share_the_creators_credential_and_keep_their_months(
    accounts_server, accounts_env, monkeypatch, tmp_path
):
    db = accounts_env
    monkeypatch.setenv("PASSIVE_AMAZON_RATE_LIMIT_REQUESTS", "100000")
    stores = tmp_path / "stores.toml"
    stores.write_text(
        '[accounts.blog-us]\nnetwork = "amazon"\nmarketplace = "US"\n\n'
        '[accounts.blog-uk]\nnetwork = "amazon"\nmarketplace = "uk"\n',
        encoding="utf-8",
    )
    result = passive("pull", "amazon", "--config", str(stores), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "amazon blog-us: " in result.output and "amazon blog-uk: " in result.output
    data = accounts_server.amazon.data
    for account, marketplace in (("blog-us", "US"), ("blog-uk", "UK")):
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute(
                "SELECT month, sum(sales), sum(commission), sum(lines)::INT FROM revenue_monthly"
                " WHERE network = 'amazon' AND account = ? GROUP BY ALL",
                [account],
            ).fetchall()
        got = {m: (s, c, n) for m, s, c, n in rows}
        assert got and got == data.expected_months(marketplace), account


def test_a_bad_passive_toml_is_one_error_line_and_a_missing_credential_is_named(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREFECT_API_URL", "")
    monkeypatch.delenv("PASSIVE_CONFIG", raising=False)
    bad = tmp_path / "bad.toml"
    bad.write_text('[accounts.shop]\nnetwork = "impact"\nbase_url = "api.impact.com"\n')
    for command in (["accounts"], ["pull", "impact"], ["pull", "--all"]):
        result = passive(*command, "--config", str(bad))
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 2, result.output
        assert lines == [
            f"error: {bad}: [accounts.shop] base_url: must be scheme and host only, e.g. "
            "https://api.example.com (got 'api.impact.com')"
        ], command
    good = tmp_path / "passive.toml"
    good.write_text('[accounts.new-shop]\nnetwork = "cj"\n')
    monkeypatch.setenv("PASSIVE_NEW_SHOP_PUBLISHER_ID", "42")
    monkeypatch.delenv("PASSIVE_NEW_SHOP_TOKEN", raising=False)
    result = passive("accounts", "--format", "json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["credentials"] == (
        "token: MISSING (PASSIVE_NEW_SHOP_TOKEN or block passive-new-shop-token); "
        "publisher_id: $PASSIVE_NEW_SHOP_PUBLISHER_ID"
    )
    assert row["last pull"] == "never"
