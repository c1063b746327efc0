"""`passive demo`: the main job end to end on generated sample data and sandbox networks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from sandbox.amazon_reports import DemoReport
    from sandbox.server import SandboxHandle

# The ledger's modules are imported where they are used, after the temporary Prefect server
# has been started: importing them first delayed its start by ~0.5 s.

DEMO_SEED = 7
DEMO_NETWORKS = ("impact", "awin", "cj")
# The demo's accounts (passive.toml's form): each network's default account plus a second
# impact.com account and a second Awin publisher account of the same user.
DEMO_CONFIG = Path(__file__).parents[1] / "sandbox" / "passive.demo.toml"
DEMO_EXTRA_ACCOUNTS = {"impact-shop": ("impact", 1)}  # name -> sandbox account with own login
# The sandbox's Creators API stores, pulled into accounts of their own: the sample report files
# already fill demo-us and demo-uk for the same months, and a pull would replace those periods.
DEMO_AMAZON_STORES = (("demo-api-us", "US"), ("demo-api-uk", "UK"))


def _prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


@contextmanager
def _prefect_api(console: Console) -> Iterator[Callable[[], None] | None]:
    """The Prefect API the demo's runs report to: a configured one or a running `passive
    serve` (yields None), else a temporary server of the demo's own (yields its wait).

    The temporary server starts first, so it boots while the demo writes its sample reports
    and imports the flows (on two cores that hides most of its start); Prefect's own
    temporary server would start only at the first flow run, and its client would import
    the whole server package (~2-4 s) just to launch it.
    """
    from flows.console import tracked_api

    configured = tracked_api()
    if configured:
        console.print(f"running them through the Prefect flows, tracked by {configured}")
        yield None
        return
    from flows.serve import SERVER_START_TIMEOUT, free_port, start_server, stop_process_group

    home = _prefect_home()
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server = start_server(home, "127.0.0.1", port, services=False, log_name="demo-server.log")
    saved = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = api  # before prefect is imported: it reads this once
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    def wait() -> None:
        from flows.serve import wait_healthy

        wait_healthy(
            api, timeout=SERVER_START_TIMEOUT, process=server, log=home / "demo-server.log"
        )

    console.print(
        "running them through the Prefect flows (a temporary Prefect server is starting; "
        "`passive serve` keeps one running)…"
    )
    try:
        yield wait
    finally:
        _send_queued_logs_and_events()
        stop_process_group(server)
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved


def _send_queued_logs_and_events() -> None:
    """Hand Prefect's queued run logs and events to the server before it stops.

    Prefect sends them from background services that drain at interpreter exit, which
    comes after the demo's temporary server is gone: the runs' last logs would be lost.
    """
    import sys

    if "prefect" not in sys.modules:
        return  # nothing ran (the server would not start)
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


@contextmanager
def _sandbox() -> Iterator[SandboxHandle]:
    """Serve the sandbox networks on loopback (the demo's seed, one extra account each)."""
    from sandbox.server import run_sandbox

    with run_sandbox(DEMO_SEED, accounts=1) as sandbox:
        yield sandbox


@contextmanager
def _sandbox_env(console: Console, running: SandboxHandle | None = None) -> Iterator[None]:
    """Point the connectors at the sandbox networks meanwhile (`running`, else one served
    for the block)."""
    with nullcontext(running) if running else _sandbox() as sandbox:
        demo_env = sandbox.env()
        # Never the user's passive.toml: the demo's accounts are the sandbox's.
        demo_env["PASSIVE_CONFIG"] = str(DEMO_CONFIG)
        for name, (network, number) in DEMO_EXTRA_ACCOUNTS.items():
            demo_env |= sandbox.account_env(name, network, number)
        # The sandbox has no quota, so the demo need not pace itself like a real account.
        demo_env |= {
            f"PASSIVE_{n.upper()}_RATE_LIMIT_REQUESTS": "100000" for n in (*DEMO_NETWORKS, "amazon")
        }
        saved = {key: os.environ.get(key) for key in demo_env}
        os.environ.update(demo_env)
        console.print(
            "sandbox networks (impact.com, Awin, CJ, Amazon Creators API) and ECB rates serving"
            f" on {sandbox.base_url}"
        )
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _store_batches(reports: list[DemoReport]) -> list[list[DemoReport]]:
    """The reports in their order, cut where the store (account, marketplace) changes."""
    batches: list[list[DemoReport]] = []
    for report in reports:
        same = batches and (batches[-1][0].account, batches[-1][0].marketplace) == (
            report.account, report.marketplace,
        )  # fmt: skip
        if same:
            batches[-1].append(report)
        else:
            batches.append([report])
    return batches


def run_demo(*, db: Path | None, workdir: Path, use_prefect: bool, console: Console) -> int:
    """Ingest the sample reports and pull the sandbox networks into the ledger.

    Returns the worst exit code of the runs (0 ok, 1 rejects, 2 failures).
    """
    from sandbox.amazon_reports import write_demo_reports

    def sample_reports() -> list[DemoReport]:
        workdir.mkdir(parents=True, exist_ok=True)
        reports = write_demo_reports(workdir)
        console.print(f"wrote {len(reports)} sample Amazon reports to {workdir}/")
        return reports

    if not use_prefect:
        reports = sample_reports()
        with _sandbox() as sandbox:  # started first, as on the Prefect path: the same work
            return _run_demo(reports, sandbox, db=db, use_prefect=False, console=console)
    with _prefect_api(console) as wait_for_server:
        reports = sample_reports()
        from flows.concurrency import sole_writer
        from flows.foreground import foreground_runs

        with foreground_runs(), sole_writer() if wait_for_server else nullcontext():
            # Imported, and the sandbox started (~1 s), while the server boots: that wait is
            # the demo's longest, and the imports are most of a flow run's start.
            # fastapi.encoders: Prefect (3.9) imports it to send a flow run's parameters, at
            # the first run (0.4-0.6 s here, on the way to the first report loading).
            import fastapi.encoders  # noqa: F401
            import prefect.flow_engine
            import prefect.task_engine  # noqa: F401
            from prefect.context import SyncClientContext

            from flows import accounts_flow, amazon_flow, fx, ingest, pull  # noqa: F401

            with _sandbox() as sandbox:
                if wait_for_server:
                    wait_for_server()
                # One API client for every run (each flow run would open its own: ~0.07 s).
                with SyncClientContext.get_or_create():
                    return _run_demo(reports, sandbox, db=db, use_prefect=True, console=console)


def _run_demo(
    reports: list[DemoReport],
    sandbox: SandboxHandle,
    *,
    db: Path | None,
    use_prefect: bool,
    console: Console,
) -> int:
    from flows import account_steps, ingest_steps
    from flows.account_steps import FanOutSummary, select_accounts

    db_arg = str(db) if db else None
    if use_prefect:
        from flows.accounts_flow import pull_accounts
        from flows.ingest import ingest_report_files
    code = 0
    restated = {report.path.name for report in reports if report.restatement}
    for batch in _store_batches(reports):
        account, marketplace = batch[0].account, batch[0].marketplace
        if use_prefect:
            # One flow run per store's consecutive reports, loaded in order: each flow run
            # costs orchestration (~0.2 s), whatever its size (issue 12, §6).
            summary = ingest_report_files(
                [str(r.path) for r in batch], account=account, marketplace=marketplace, db=db_arg
            )
            assert isinstance(summary, ingest_steps.IngestSummary)  # a failed run raises
        else:
            summary = ingest_steps.ingest_files(
                [r.path for r in batch], account=account, marketplace=marketplace, db=db
            )
        for outcome in summary.reports:
            note = (
                " (restated month: replaces the earlier download)"
                if outcome.name in restated
                else ""
            )
            counts = outcome.result
            detail = (
                f"{counts.loaded} lines ({counts.inserted} new, {counts.removed} removed)"
                if counts
                else outcome.message
            )
            console.print(f"  {outcome.status} {outcome.name}: {detail}{note}", highlight=False)
        code = max(code, summary.exit_code)
    with _sandbox_env(console, sandbox):
        # Every account of the demo's passive.toml, several at once (`passive pull --all`).
        if use_prefect:
            fanned = pull_accounts(every=True, db=db_arg, config=str(DEMO_CONFIG))
            # A failed flow run raises when called directly; a returned value is a summary.
            assert isinstance(fanned, FanOutSummary)
        else:
            chosen = select_accounts(None, every=True, config=DEMO_CONFIG)
            fanned = account_steps.pull_accounts(chosen, db=db)
        for pulled in fanned.outcomes:
            console.print(f"  pulled {pulled.line}", highlight=False, soft_wrap=True, markup=False)
            if pulled.payments:
                console.print(f"    {pulled.payments}", highlight=False)
        code = max(code, fanned.exit_code)
        for account, marketplace in DEMO_AMAZON_STORES:
            code = max(code, _pull_amazon(account, marketplace, db, use_prefect, console))
        if use_prefect:
            from flows.fx import fx_update

            rates = fx_update(db=db_arg)
        else:
            from flows.fx_steps import update

            rates = update(db)
        console.print(
            f"  ECB rates: {rates.read} fixings {rates.first_day} to {rates.last_day}, "
            f"{rates.inserted} new",
            highlight=False,
        )
    return code


def _pull_amazon(
    account: str, marketplace: str, db: Path | None, use_prefect: bool, console: Console
) -> int:
    """Pull one sandbox store over the Creators API; print one line; return the exit code."""
    if use_prefect:
        from flows.amazon_flow import pull_amazon

        summary = pull_amazon(account=account, marketplace=marketplace, db=str(db) if db else None)
    else:
        import tempfile

        from flows.amazon_pull import pull

        with tempfile.TemporaryDirectory(prefix="passive-amazon-") as folder:
            summary = pull(account=account, marketplace=marketplace, db=db, folder=Path(folder))
    lines = sum(r.loaded for r in summary.reports)
    console.print(
        f"  pulled amazon {account} ({marketplace}) over the Creators API: "
        f"{summary.count('loaded')} earnings reports ({lines} lines) loaded, "
        f"{summary.count('skipped')} other reports skipped",
        highlight=False,
    )
    return summary.exit_code
