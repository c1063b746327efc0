"""`passive demo` through Prefect's flows against the in-process demo: the same ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.demo import run_demo
from tests.lake_helpers import quiet, state


def test_the_demo_through_prefect_flows_leaves_exactly_the_in_process_demos_ledger(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL

    # The harness's server, as a user's running `passive serve` would be: no temporary one.
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    tracked, in_process = tmp_path / "tracked.duckdb", tmp_path / "in-process.duckdb"

    assert run_demo(db=tracked, workdir=tmp_path / "t", use_prefect=True, console=quiet()) == 0
    assert run_demo(db=in_process, workdir=tmp_path / "i", use_prefect=False, console=quiet()) == 0

    found = state(tracked)
    assert len(found["commissions"]) > 9000 and found["payments"] and found["fx_rates"]
    assert found == state(in_process)
    # The fan-out's accounts each ran as a sub-flow run of their own, started one at a time
    # (flows/concurrency.py, one_start_at_a_time) and all Completed.
    with get_client(sync_client=True) as client:
        pulls = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["pull-network"])), limit=200
        )
    mine = {run.name: run for run in pulls if run.parameters.get("db") == str(tracked)}
    assert sorted(name.split(" 20")[0] for name in mine) == [
        "pull awin",
        "pull awin awin-fr",
        "pull cj",
        "pull impact",
        "pull impact impact-shop",
    ]
    assert all(run.state is not None and run.state.is_completed() for run in mine.values())
