"""Pulling impact.com, Awin and CJ from the sandbox over real loopback HTTP into DuckDB files."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from flows import pull_steps
from sandbox.dataset import Dataset
from sandbox.server import (
    SANDBOX_AWIN_TOKEN,
    SANDBOX_CJ_TOKEN,
    SANDBOX_IMPACT_TOKEN,
    SandboxHandle,
    run_sandbox,
)

NETWORKS = ("impact", "awin", "cj")
LIMIT_DAYS = {"impact": 45, "awin": 31, "cj": 31}


def ledger_totals(db: Path, network: str) -> dict[tuple[str, str], tuple[Decimal, Decimal, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT currency, status, sum(sales), sum(commission), sum(lines)::INT"
            " FROM revenue_monthly WHERE network = ? GROUP BY ALL",
            [network],
        ).fetchall()
    return {(c, s): (sales, commission, n) for c, s, sales, commission, n in rows}


def expected(
    sandbox: SandboxHandle, network: str
) -> dict[tuple[str, str], tuple[Decimal, Decimal, int]]:
    return {
        key: (Decimal(sale), Decimal(commission), lines)
        for key, (sale, commission, lines) in sandbox.expected_totals(network).items()
    }


def is_payments(request: dict) -> bool:
    """A request for payments (invoices, withdrawal settings, Awin payments), which a pull
    makes after the lines (tests/integration/test_payments_pull.py covers them)."""
    path = request["path"]
    return path.endswith(("/Invoices", "/WithdrawalSettings", "/breakdowns", "/payments"))


def since_start(sandbox: SandboxHandle):
    return sandbox.dataset.start - timedelta(days=1)


@pytest.mark.parametrize("network", NETWORKS)
def test_a_full_pull_lands_exactly_the_networks_totals(sandbox, db, network):
    summary = pull_steps.pull(network, db=db, since=since_start(sandbox))
    assert summary.status == "completed", summary.message
    assert ledger_totals(db, network) == expected(sandbox, network)


@pytest.mark.parametrize("network", NETWORKS)
def test_a_second_pull_after_status_changes_updates_in_place(sandbox, db, network):
    pull_steps.pull(network, db=db, since=since_start(sandbox))
    changes = sandbox.advance()
    summary = pull_steps.pull(network, db=db, since=since_start(sandbox))
    assert summary.status == "completed", summary.message
    assert ledger_totals(db, network) == expected(sandbox, network)
    with duckdb.connect(str(db), read_only=True) as con:
        dupes = con.execute(
            "SELECT count(*) - count(DISTINCT (network, account, line_id)) FROM commissions"
        ).fetchone()
        changed = con.execute(
            "SELECT count(*) FROM commission_changes WHERE change = 'changed' AND run_id = ?",
            [summary.run_id],
        ).fetchone()
    assert dupes == (0,)
    assert summary.result is not None and summary.result.changed > 0
    assert changed == (summary.result.changed,)
    assert changes  # the sandbox really moved some records


def frozen_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Make the sandbox and the pull read `moment` as the current time (issue 10 §5)."""

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return moment if tz is None else moment.astimezone(tz)

    for module in ("sandbox.dataset", "sandbox.networks", "connectors.base", "flows.pull_steps"):
        monkeypatch.setattr(f"{module}.datetime", FrozenDatetime)


@pytest.mark.parametrize("clock", ["00:05", "00:59", "23:55"])
def test_a_second_pull_after_status_changes_updates_in_place_at_any_hour(
    monkeypatch, tmp_path, clock
):
    # The sandbox's phase clock once began at today's midnight: between 00:00 and 01:00 UTC
    # the first advance stamped its changes after "now", and a pull up to now missed them.
    hour, minute = map(int, clock.split(":"))
    today = datetime.now(UTC).date()
    frozen_clock(
        monkeypatch, datetime(today.year, today.month, today.day, hour, minute, tzinfo=UTC)
    )
    dataset = Dataset(5, impact_actions=400, awin_transactions=300, cj_commissions=300)
    with run_sandbox(dataset, cj_page_size=400) as handle:
        for key, value in handle.env().items():
            monkeypatch.setenv(key, value)
        for network in NETWORKS:
            monkeypatch.setenv(f"PASSIVE_{network.upper()}_RATE_LIMIT_REQUESTS", "100000")
            db = tmp_path / f"{network}.duckdb"
            pull_steps.pull(network, db=db, since=since_start(handle))
            handle.advance()
            assert handle.dataset.phase_time() <= datetime.now(UTC)
            summary = pull_steps.pull(network, db=db, since=since_start(handle))
            assert summary.status == "completed", summary.message
            assert summary.result is not None and summary.result.changed > 0, network
            assert ledger_totals(db, network) == expected(handle, network), network


def test_repeating_a_pull_with_nothing_new_changes_nothing(sandbox, db, snapshot):
    pull_steps.pull("impact", db=db, since=since_start(sandbox), until=sandbox.dataset.end)
    before = snapshot(db)
    pull_steps.pull("impact", db=db, since=since_start(sandbox), until=sandbox.dataset.end)
    after = snapshot(db)
    assert after["commissions"] == before["commissions"]
    assert after["commission_changes"] == before["commission_changes"]


def test_an_impact_reversed_line_stored_with_0_is_corrected_by_the_next_pull(sandbox, db):
    # Ledgers written before the reversed-amount rule hold impact.com's zeroed Payout.
    pull_steps.pull("impact", db=db, since=since_start(sandbox))
    with duckdb.connect(str(db)) as con:
        kept = con.execute(
            "SELECT line_id, sale_amount, commission_amount FROM commissions"
            " WHERE network = 'impact' AND status = 'reversed' ORDER BY line_id"
        ).fetchall()
        con.execute(
            "UPDATE commission_lines SET sale_amount = 0, commission_amount = 0"
            " WHERE network = 'impact' AND status = 'reversed'"
        )
    assert kept and all(commission > 0 for _, _, commission in kept)
    summary = pull_steps.pull("impact", db=db, since=since_start(sandbox))
    assert summary.result is not None and summary.result.changed == len(kept)
    assert ledger_totals(db, "impact") == expected(sandbox, "impact")
    with duckdb.connect(str(db), read_only=True) as con:
        changes = con.execute(
            "SELECT line_id, new_sale_amount, new_commission_amount FROM commission_changes"
            " WHERE run_id = ? AND old_status = 'reversed' AND new_status = 'reversed'"
            " AND old_commission_amount = 0 ORDER BY line_id",
            [summary.run_id],
        ).fetchall()
    assert changes == kept


def test_a_cj_restatement_nets_to_the_corrected_amount(sandbox, db):
    pull_steps.pull("cj", db=db, since=since_start(sandbox))
    sandbox.advance()
    pull_steps.pull("cj", db=db, since=since_start(sandbox))
    restated = sandbox.dataset.cj_restated_action_ids()
    assert restated, "the sandbox should hold restatement pairs"
    action = restated[0]
    records = sandbox.dataset.cj_records_for_action(action)
    want = sum((r.commission for r in records), Decimal(0))
    with duckdb.connect(str(db), read_only=True) as con:
        (got, n) = con.execute(
            "SELECT sum(commission_amount), count(*) FROM commissions"
            " WHERE network = 'cj' AND (original_line_id = ? OR line_id = ?)",
            [action, action],
        ).fetchone()
    assert n == len(records) >= 3  # original + full reversal + corrected state
    assert got == want


def test_a_multi_page_cj_pull_is_complete(sandbox, db):
    summary = pull_steps.pull("cj", db=db, since=since_start(sandbox))
    pages = [r for r in sandbox.requests("cj") if r["status"] == 200]
    continued = [
        r for r in pages if (r["graphql"] or {}).get("arguments", {}).get("sinceCommissionId")
    ]
    assert continued, "the pull should have followed maxCommissionId"
    assert summary.result is not None
    assert summary.result.loaded == len(list(sandbox.dataset.records("cj")))


@pytest.mark.parametrize("network", NETWORKS)
def test_windows_never_exceed_the_networks_limit(sandbox, db, network):
    pull_steps.pull(network, db=db, since=datetime(2025, 1, 1, tzinfo=UTC).date())
    seen = [r for r in sandbox.requests(network) if not is_payments(r)]
    assert seen
    for request in seen:
        if network == "impact":
            start, end = request["query"]["StartDate"], request["query"]["EndDate"]
        elif network == "awin":
            start, end = request["query"]["startDate"], request["query"]["endDate"]
        else:
            args = request["graphql"]["arguments"]
            start, end = args["sincePostingDate"], args["beforePostingDate"]
        span = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(
            start.replace("Z", "+00:00")
        )
        assert span <= timedelta(days=LIMIT_DAYS[network]), request


def test_429_is_waited_out_and_the_pull_succeeds(sandbox, db):
    sandbox.set_fault("impact", "429", count=2, retry_after=1)
    summary = pull_steps.pull("impact", db=db, since=since_start(sandbox))
    assert summary.status == "completed"
    statuses = [r["status"] for r in sandbox.requests("impact")]
    assert statuses[:3] == [429, 429, 200]
    assert ledger_totals(db, "impact") == expected(sandbox, "impact")


def test_500_is_retried(sandbox, db):
    sandbox.set_fault("awin", "500", count=1)
    summary = pull_steps.pull("awin", db=db, since=since_start(sandbox))
    assert summary.status == "completed"
    assert [r["status"] for r in sandbox.requests("awin")][:2] == [500, 200]


def test_401_fails_fast_and_leaves_ledger_and_cursor_untouched(sandbox, db, snapshot, monkeypatch):
    pull_steps.pull("impact", db=db, since=since_start(sandbox))
    before = snapshot(db)
    sandbox.clear_requests()
    monkeypatch.setenv("PASSIVE_IMPACT_AUTH_TOKEN", "not-the-right-token")
    summary = pull_steps.pull("impact", db=db)
    assert summary.status == "failed" and summary.exit_code == 2
    assert "PASSIVE_IMPACT_AUTH_TOKEN" in (summary.message or "")
    assert "not-the-right-token" not in (summary.message or "")
    assert len(sandbox.requests("impact")) == 1  # no retries of a credential error
    assert snapshot(db) == before


def test_truncated_json_fails_the_run_cleanly(sandbox, db, snapshot):
    pull_steps.pull("cj", db=db, since=since_start(sandbox))
    before = snapshot(db)
    sandbox.advance()
    sandbox.set_fault("cj", "truncated_json", count=50)
    summary = pull_steps.pull("cj", db=db, since=since_start(sandbox))
    assert summary.status == "failed"
    assert "JSON" in (summary.message or "") or "json" in (summary.message or "")
    assert snapshot(db) == before


def test_missing_credentials_fail_before_any_request(sandbox, db, monkeypatch):
    monkeypatch.delenv("PASSIVE_AWIN_TOKEN")
    sandbox.clear_requests()
    with pytest.raises(pull_steps.PullInputError, match="PASSIVE_AWIN_TOKEN"):
        pull_steps.pull("awin", db=db)
    assert sandbox.requests("awin") == []


def test_the_next_pull_starts_at_the_cursor_minus_the_lookback(sandbox, db, monkeypatch):
    monkeypatch.setenv("PASSIVE_IMPACT_LOOKBACK_DAYS", "10")
    first = pull_steps.pull("impact", db=db, since=since_start(sandbox))
    sandbox.clear_requests()
    pull_steps.pull("impact", db=db)
    starts = [
        datetime.fromisoformat(r["query"]["StartDate"])
        for r in sandbox.requests("impact")
        if not is_payments(r)
    ]
    assert min(starts) == (first.plan.end - timedelta(days=10)).replace(microsecond=0)


def test_the_token_appears_nowhere(sandbox, db, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    sandbox.set_fault("all", "500", count=1)
    for network in NETWORKS:
        pull_steps.pull(network, db=db, since=since_start(sandbox))
    secrets = (SANDBOX_IMPACT_TOKEN, SANDBOX_AWIN_TOKEN, SANDBOX_CJ_TOKEN)
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        dump = "\n".join(str(con.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in dump


def test_pull_flow_publishes_its_artifact_and_no_secret(prefect_harness, sandbox, db):
    from prefect.client.orchestration import get_client

    from flows.pull import pull_network

    summary = pull_network("impact", since=since_start(sandbox), db=str(db))
    assert summary.status == "completed"
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(sort=ArtifactSort.CREATED_DESC)
    # Newest first: other tests of the session publish under the same key.
    texts = [str(a.data) for a in artifacts if a.key == "impact-pull"]
    assert texts and "| USD | pending |" in texts[0]
    # Every request window, by days, with its records.
    windows = re.findall(r"^\| (\d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d) \| (\d+) \|$", texts[0], re.M)
    (planned,) = re.findall(r"in (\d+) request window", texts[0])
    assert len(windows) == int(planned) > 1
    assert sum(int(n) for _, n in windows) == summary.result.records_read
    assert "payments: " in texts[0] and " new, " in texts[0]  # the invoices, pulled too
    everything = "\n".join(str(a.data) for a in artifacts)
    assert SANDBOX_IMPACT_TOKEN not in everything


def test_a_failed_pull_flow_raises_and_changes_nothing(prefect_harness, sandbox, db, monkeypatch):
    from flows.pull import pull_network

    monkeypatch.setenv("PASSIVE_CJ_TOKEN", "wrong-token-value")
    with pytest.raises(Exception, match="PASSIVE_CJ_TOKEN"):
        pull_network("cj", since=since_start(sandbox), db=str(db))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM commissions").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM ingest_state").fetchone() == (0,)
        assert con.execute("SELECT status FROM ingest_runs").fetchall() == [("failed",)]


def test_a_run_reads_each_secret_block_once_and_the_next_run_sees_a_change(prefect_harness):
    from prefect import flow
    from prefect.blocks.system import Secret

    from flows.secrets import block_name, credential_fields, secret_overrides, store_secret

    field = credential_fields("awin")[0]
    name = block_name("awin", field)
    store_secret(name, "first")

    @flow
    def read_twice_changing_between() -> list[str]:
        before = secret_overrides("awin")[field]
        store_secret(name, "second")
        return [before, secret_overrides("awin")[field]]

    @flow
    def read_once() -> str:
        return str(secret_overrides("awin")[field])

    try:
        # Every window of a pull reads the credentials; one run sees one value throughout.
        assert read_twice_changing_between() == ["first", "first"]
        assert read_once() == "second"
    finally:
        Secret.delete(name)
