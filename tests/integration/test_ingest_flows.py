from __future__ import annotations

import logging
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"


def read_artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    assert found, f"no artifact {key!r} was published"
    return str(found[-1].data)


def monthly(db: Path) -> list[tuple]:

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT month, account, currency, sum(commission), sum(lines)::INT"
            " FROM revenue_monthly GROUP BY ALL ORDER BY ALL"
        ).fetchall()


def test_ingest_flow_loads_report_and_publishes_its_artifact(prefect_harness, db):
    from flows.ingest import ingest_report_files

    summary = ingest_report_files(
        [str(FIXTURES / "us_earnings.csv")], account="flow-us", marketplace="US", db=str(db)
    )
    assert [r.status for r in summary.reports] == ["loaded"]
    assert summary.exit_code == 0
    markdown = read_artifact("amazon-ingest-flow-us")
    assert "us_earnings.csv" in markdown
    assert "| 2020-12 | USD |" in markdown
    with duckdb.connect(str(db), read_only=True) as con:
        flow_runs = con.execute("SELECT DISTINCT flow_run_id FROM ingest_runs").fetchall()
    assert flow_runs and flow_runs[0][0] is not None  # the ledger links back to the Prefect run


def test_ingest_flow_twice_is_a_no_op_the_second_time(prefect_harness, db, snapshot):
    from flows.ingest import ingest_report_files

    args = {"account": "again", "marketplace": "UK", "db": str(db)}
    ingest_report_files([str(FIXTURES / "uk_earnings.csv")], **args)
    before = snapshot(db)
    summary = ingest_report_files([str(FIXTURES / "uk_earnings.csv")], **args)
    assert [r.status for r in summary.reports] == ["skipped"]
    assert snapshot(db) == before


def test_inbox_flow_archives_loaded_files_and_quarantines_bad_ones(prefect_harness, db, tmp_path):
    from flows.ingest import amazon_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "us_earnings.csv", inbox / "good.csv")
    shutil.copy(FIXTURES / "bad_header.csv", inbox / "bad.csv")
    (inbox / "notes.md").write_text("not a report")

    summaries = amazon_inbox(str(inbox), account="inbox-us", marketplace="US", db=str(db))

    assert len(summaries) == 1
    archived = list((inbox / "archive").iterdir())
    quarantined = sorted(p.name for p in (inbox / "quarantine").iterdir())
    assert [p.name.endswith("good.csv") for p in archived] == [True]
    assert len(quarantined) == 2 and quarantined[0].endswith("bad.csv")
    why = (inbox / "quarantine" / quarantined[1]).read_text()
    assert "bad.csv:2" in why and "missing" in why
    assert (inbox / "notes.md").exists()  # not a report: left alone
    assert [row[1] for row in monthly(db)] == ["inbox-us"]


def test_inbox_flow_with_nothing_to_do_changes_nothing(prefect_harness, db, tmp_path):
    from flows.ingest import amazon_inbox

    assert amazon_inbox(str(tmp_path / "empty"), account="x", db=str(db)) == []
    assert not db.exists()


def test_a_bad_header_fails_the_flow_before_anything_loads(prefect_harness, db):
    from flows.ingest import ingest_report_files

    state = ingest_report_files(
        [str(FIXTURES / "us_earnings.csv"), str(FIXTURES / "bad_header.csv")],
        account="x",
        db=str(db),
        return_state=True,
    )
    assert state.is_failed()
    assert "bad_header.csv:2" in (state.message or "")
    assert not db.exists()


def test_flow_totals_match_the_report_to_the_cent(prefect_harness, db):
    from flows.ingest import ingest_report_files

    ingest_report_files(
        [str(FIXTURES / "it_earnings.csv")], account="it", marketplace="IT", db=str(db)
    )
    assert monthly(db) == [(date(2024, 3, 1), "it", "EUR", Decimal("38.7200"), 4)]


def test_a_run_with_rejected_lines_ends_in_a_state_named_for_them(prefect_harness, db):
    from flows.ingest import ingest_report_files
    from flows.states import WITH_REJECTS

    clean = ingest_report_files(
        [str(FIXTURES / "us_earnings.csv")], account="clean", db=str(db), return_state=True
    )
    assert clean.is_completed() and clean.name == "Completed"
    state = ingest_report_files(
        [str(FIXTURES / "bad_rows.csv")], account="rejects", db=str(db), return_state=True
    )
    assert state.is_completed()  # it loaded: the run did its job, with lines to look at
    assert state.name == WITH_REJECTS
    assert "bad_rows.csv" in (state.message or "") and "lines rejected" in (state.message or "")
    summary = state.result()
    assert summary.exit_code == 1 and summary.total("rejected") > 0


def test_an_inbox_run_that_quarantined_a_file_says_so_in_its_state(prefect_harness, db, tmp_path):
    from flows.ingest import amazon_inbox
    from flows.states import WITH_REJECTS

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "bad_header.csv", inbox / "bad.csv")
    state = amazon_inbox(str(inbox), account="q", db=str(db), return_state=True)
    assert state.is_completed() and state.name == WITH_REJECTS
    assert "quarantined bad.csv" in (state.message or "")


def test_the_ingest_artifact_lists_each_rejected_line_with_where_and_why(prefect_harness, db):
    from flows.ingest import ingest_report_files

    state = ingest_report_files(
        [str(FIXTURES / "bad_rows.csv")], account="where-why", db=str(db), return_state=True
    )
    rejected = state.result().total("rejected")
    markdown = read_artifact("amazon-ingest-where-why")
    assert f"## Rejected records: {rejected}" in markdown
    with duckdb.connect(str(db), read_only=True) as con:
        locators = [r[0] for r in con.execute("SELECT locator FROM rejects").fetchall()]
    assert len(locators) == rejected
    for locator in locators:
        assert f"| {locator} |" in markdown  # bad_rows.csv:4 and the rest, with the reason
    assert "bad_rows.csv:4" in locators


def test_an_inbox_run_publishes_one_artifact_naming_every_file(prefect_harness, db, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.ingest import amazon_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # Same account and period: the fuller report goes second (files load in name order), so
    # neither is refused for emptying the period the other filled.
    shutil.copy(FIXTURES / "bad_rows.csv", inbox / "a-rows.csv")
    shutil.copy(FIXTURES / "us_earnings.csv", inbox / "b-us.csv")
    shutil.copy(FIXTURES / "bad_header.csv", inbox / "c-bad.csv")
    state = amazon_inbox(str(inbox), account="many", db=str(db), return_state=True)
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["amazon-ingest-many"]))
        )
    assert len(found) == 1  # one per run, so the key's latest is the whole run
    markdown = str(found[0].data)
    assert "## Reports: 2" in markdown
    for name in ("a-rows.csv", "b-us.csv", "c-bad.csv: quarantined"):
        assert name in markdown
    assert "| a-rows.csv:4 |" in markdown
    assert state.name == "Completed with rejects"


def test_a_run_holding_the_writer_slot_does_not_take_a_second_one(prefect_harness):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    from flows.concurrency import ensure_writer_limit, ledger_writer

    name = "passive-writer-reentry-test"
    ensure_writer_limit(name)
    with get_client(sync_client=True) as client:
        # Two slots, so a second take would show as 2 taken instead of waiting for ever.
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=2))

        def taken() -> int:
            return client.read_global_concurrency_limit_by_name(name).active_slots

        @flow
        def nested() -> list[int]:
            with ledger_writer(name):
                outer = taken()
                with ledger_writer(name):
                    inner = taken()
            return [outer, inner, taken()]

        assert nested() == [1, 1, 0]


def test_flow_runs_the_cli_waits_for_start_no_heartbeat_thread(prefect_harness):
    from prefect import flow
    from prefect.settings import get_current_settings

    from flows.foreground import foreground_runs

    @flow
    def heartbeat_every() -> int | None:
        return get_current_settings().flows.heartbeat_frequency

    assert heartbeat_every() is not None  # Prefect's default: a thread per run
    with foreground_runs():
        assert heartbeat_every() is None


def _run_logs(run: Any) -> tuple[Any, list[logging.LogRecord]]:
    """Call a flow; its final state and every record its flow and task runs logged."""

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    keep = Keep()
    loggers = [logging.getLogger(n) for n in ("prefect.task_runs", "prefect.flow_runs")]
    for logger in loggers:
        logger.addHandler(keep)
    try:
        state = run(return_state=True)
    finally:
        for logger in loggers:
            logger.removeHandler(keep)
    return state, keep.records


@pytest.mark.parametrize("where", ["task", "flow"])
def test_an_unexpected_error_is_logged_once_with_one_traceback(prefect_harness, where):
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from flows.hooks import log_failure

    @task(cache_policy=NO_CACHE)
    def load_something() -> None:
        raise RuntimeError("a bug, not a bad input")

    @flow(on_failure=[log_failure])
    def run_with_a_bug() -> None:
        if where == "flow":
            raise RuntimeError("a bug, not a bad input")
        load_something()

    state, records = _run_logs(run_with_a_bug)
    assert state.is_failed()
    with_traceback = [r for r in records if r.exc_info]
    assert len(with_traceback) == 1, [r.getMessage() for r in with_traceback]
    # Where it was raised: the task run's log, or the flow run's.
    assert with_traceback[0].name == f"prefect.{where}_runs"
    # The cause once (today's Prefect would say it five times), then the state it left.
    messages = [r.getMessage() for r in records]
    assert sum("a bug, not a bad input" in m for m in messages) == 1, messages
    assert messages[-1] == "Finished in state Failed (cause above)"


def test_a_tracked_cli_ingest_exits_with_its_run_logs_sent(prefect_harness, db):
    import os
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.settings import PREFECT_API_URL

    # The real console script, tracked; it ends with os._exit once Prefect's queues are sent.
    # Buffered output, as on any pipe: what is not flushed before os._exit is lost.
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(FIXTURES / "us_earnings.csv"),
         "--account", "exit-fast", "--db", str(db)],
        capture_output=True, text=True, check=False,
        env={**environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "us_earnings.csv" in result.stdout  # the summary, flushed before the exit
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="exit-fast"))
        )
        assert len(runs) == 1 and runs[0].state and runs[0].state.is_completed()
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[runs[0].id])))
    # The load task's line is among the last a run logs: sent, not lost with the process.
    messages = [entry.message for entry in logs]
    assert any("Loaded us_earnings.csv" in message for message in messages), messages
