"""`Ledger`: every job on one ledger file as one library, the face the CLI and the flows share.

The typer commands (flows/commands.py and its *_cli.py) parse arguments, call a Ledger and
print; the Prefect flows (flows/ingest.py, flows/pull.py) wrap the same methods in tasks. The
steps themselves live in flows/*_steps.py; this class is where a reader (or a script) finds
them. Light to import: an unchanged re-ingest is answered before pydantic, pyarrow or any
worker process is loaded, by the same skip check every load makes (flows/reingest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.ingest_summary import (
    IngestSummary,
    InputError,
    ReportOutcome,
    open_report_inputs,
)
from flows.reingest import skip_known
from schemas.networks import AMAZON
from warehouse.connection import ledger, ledger_exists, resolve_db_path

if TYPE_CHECKING:
    from connectors.accounts import Account
    from connectors.amazon import ReportFile
    from connectors.amazon.api import ReportListing
    from connectors.base import DateWindow
    from flows.amazon_pull import AmazonPullSummary, Fetched, Listed
    from flows.amazon_validation import StartMethod
    from flows.payment_steps import PaymentsSummary
    from flows.pull_steps import FetchedWindows, PullPlan, PullSummary
    from schemas.validation import ColumnarBatch
    from warehouse.fx import FxLoadResult
    from warehouse.payments import Rows
    from warehouse.tally import Basis, Tally, TallyBy
    from warehouse.tuning import Tuning

# What a caller shows while a job runs: entered with a description, it yields a function
# that takes the count of lines (or records) done so far.
Progress = Callable[[str], AbstractContextManager[Callable[[int], None]]]


@contextmanager
def _no_progress(_: str) -> Iterator[Callable[[int], None]]:
    yield lambda _done: None


class Ledger:
    """One ledger file (`db`: a path, else $PASSIVE_DB, else ./ledger.duckdb) and its jobs.

    `writing` guards every stretch that writes the file: a flow passes its one-writer
    concurrency slot (flows/concurrency.py), the CLI nothing. `tuning` holds the performance
    knobs (warehouse/tuning.py); None reads them from the environment when a load needs them.
    """

    def __init__(
        self,
        db: str | Path | None = None,
        *,
        writing: Callable[[], AbstractContextManager[Any]] = nullcontext,
        tuning: Tuning | None = None,
    ) -> None:
        self.db = db
        self.writing = writing
        self.tuning = tuning

    @property
    def path(self) -> Path:
        """The ledger file this object reads and writes."""
        return resolve_db_path(self.db)

    # --- report files (`passive ingest`, ingest-report-files, amazon-inbox) ---------------

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        account: str,
        marketplace: str = "US",
        force: bool = False,
        period_start: date | None = None,
        period_end: date | None = None,
        progress: Progress = _no_progress,
        start_method: StartMethod = "forkserver",
    ) -> IngestSummary:
        """Load Amazon report files into `account`'s lines, each replacing its period.

        Reports whose content the account's ledger already holds are skipped (unless
        `force`). When all are, the answer comes from their hashes alone: the files' text
        was checked when they were loaded, so it is not decoded again, and nothing heavy is
        imported. Any bad report stops all before anything is loaded (InputError).
        """
        with progress("reading reports"):
            if not force and ledger_exists(self.db):
                hashed = open_report_inputs(
                    paths,
                    marketplace=marketplace,
                    period_start=period_start,
                    period_end=period_end,
                    hash_only=True,
                )
                with self.writing(), ledger(self.db) as con:
                    skipped = skip_known(con, hashed, account=account)
                if skipped is not None:
                    return IngestSummary(network=AMAZON, account=account, reports=skipped)
            # Opened again in full (text, lines): on a file seen for the first time, only
            # its hash pass is spent twice, and only when the ledger exists.
            reports = open_report_inputs(
                paths, marketplace=marketplace, period_start=period_start, period_end=period_end
            )
        return self._load_reports(
            reports, account=account, force=force, progress=progress, start_method=start_method
        )

    def _load_reports(
        self,
        reports: Sequence[ReportFile],
        *,
        account: str,
        force: bool,
        progress: Progress,
        start_method: StartMethod,
    ) -> IngestSummary:
        from flows import ingest_steps
        from flows.amazon_validation import ValidationWorkers
        from warehouse.amazon_scan import scannable

        tuning = self._tuning()
        with ValidationWorkers(tuning.workers, start_method=start_method) as workers:
            if not (tuning.scan and all(scannable(report) for report in reports)):
                # The Python reader validates in worker processes: forked before `progress`
                # starts a thread (a forked copy of a thread's held lock never unlocks).
                workers.start()
            with progress("reading reports") as advance:
                lines = [0]

                def on_batch(batch: Any) -> None:
                    lines[0] += batch.records_read
                    advance(lines[0])

                with self.writing():
                    return ingest_steps.ingest_reports(
                        reports,
                        db=self.db,
                        account=account,
                        force=force,
                        on_batch=on_batch,
                        tuning=tuning,
                        workers=workers,
                    )

    @staticmethod
    def open_reports(
        paths: Sequence[str | Path],
        *,
        marketplace: str,
        period_start: date | None = None,
        period_end: date | None = None,
    ) -> list[ReportFile]:
        """Open and check every report (title, header, text) before any is loaded."""
        return open_report_inputs(
            paths, marketplace=marketplace, period_start=period_start, period_end=period_end
        )

    def load_report(
        self,
        report: ReportFile,
        *,
        account: str,
        force: bool = False,
        flow_run_id: str | None = None,
    ) -> ReportOutcome:
        """Load one opened report (or skip it, or refuse it), as one run of its own."""
        from flows import ingest_steps

        with self.writing():
            return ingest_steps.load_report(
                report,
                db=self.db,
                account=account,
                force=force,
                flow_run_id=flow_run_id,
                tuning=self.tuning,
            )

    def summarize(
        self, outcomes: Sequence[ReportOutcome], *, account: str, network: str = AMAZON
    ) -> IngestSummary:
        """The reports' outcomes with the ledger's totals of the months they touched."""
        from flows import ingest_steps

        return ingest_steps.summarize(
            self.db, network=network, account=account, outcomes=list(outcomes)
        )

    # --- API pulls (`passive pull`, pull-network) -------------------------------------------

    def pull(
        self,
        network: str,
        *,
        since: date | None = None,
        until: date | None = None,
        on_window: Callable[[DateWindow, int], None] | None = None,
        account: Account | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> PullSummary:
        """Pull one API account in-process (the CLI; a flow runs the steps below as tasks):
        plan, fetch every window, load once with the cursor, then the network's payments. A
        refused fetch changes nothing."""
        from flows import pull_steps

        return pull_steps.pull(
            network,
            db=self.db,
            since=since,
            until=until,
            on_window=on_window,
            account=account,
            overrides=overrides,
        )

    def plan_pull(
        self,
        network: str,
        *,
        since: date | None = None,
        until: date | None = None,
        overrides: Mapping[str, Any] | None = None,
        account: Account | None = None,
    ) -> PullPlan:
        """The windows to fetch: from `since`, else the saved cursor minus the lookback."""
        from flows import pull_steps

        # Planning reads the cursor from a writable connection (it migrates a new file).
        with self.writing():
            return pull_steps.plan_pull(
                network,
                db=self.db,
                since=since,
                until=until,
                overrides=overrides,
                account=account,
            )

    @staticmethod
    def fetch_windows(
        network: str,
        windows: Sequence[DateWindow],
        overrides: Mapping[str, Any] | None = None,
        account: Account | None = None,
        on_window: Callable[[DateWindow, int], None] | None = None,
    ) -> FetchedWindows:
        """Fetch and validate a pull's windows in order, up to the first one the network
        refuses (the ledger stays closed)."""
        from flows import pull_steps

        return pull_steps.fetch_windows(network, windows, overrides, account, on_window)

    def load_pull(
        self,
        plan: PullPlan,
        batches: Sequence[ColumnarBatch],
        *,
        run_id: str,
        flow_run_id: str | None = None,
    ) -> PullSummary:
        """Upsert everything fetched and move the cursor in one transaction."""
        from flows import pull_steps

        with self.writing():
            return pull_steps.load_pull(
                plan, batches, db=self.db, run_id=run_id, flow_run_id=flow_run_id
            )

    def record_failed_pull(
        self,
        plan: PullPlan,
        error: BaseException,
        *,
        run_id: str,
        flow_run_id: str | None = None,
    ) -> PullSummary:
        """Record a pull whose fetch failed; the lines and the cursor stay as they were."""
        from flows import pull_steps

        with self.writing():
            return pull_steps.record_failed_pull(
                plan, error, db=self.db, run_id=run_id, flow_run_id=flow_run_id
            )

    def pull_payments(
        self,
        plan: PullPlan,
        *,
        overrides: Mapping[str, Any] | None = None,
        flow_run_id: str | None = None,
        account: Account | None = None,
    ) -> PaymentsSummary | None:
        """Pull and load the network's payments over the plan's range (None: it has none)."""
        from flows import payment_steps, pull_steps

        return payment_steps.pull_and_load_payments(
            plan.network,
            settings=pull_steps.load_settings(plan.network, overrides, account),
            ledger_account=plan.account,
            db=self.db,
            start=plan.start,
            end=plan.end,
            flow_run_id=flow_run_id,
            writing=self.writing,
        )

    # --- Amazon's Creators API (`passive pull amazon`, pull-amazon) ------------------------

    def pull_amazon(
        self,
        *,
        account: str,
        marketplace: str,
        folder: Path,
        since: date | None = None,
        until: date | None = None,
        on_download: Callable[[ReportListing], None] | None = None,
    ) -> AmazonPullSummary:
        """Download every report of one store the ledger has not taken in (kept in `folder`)
        and load the earnings ones as `ingest` does. A refusal (access gate, bad md5,
        credentials) raises ConnectorError having written nothing."""
        from flows import amazon_pull

        return amazon_pull.pull(
            account=account,
            marketplace=marketplace,
            db=self.db,
            since=since,
            until=until,
            folder=folder,
            on_download=on_download,
            writing=self.writing,
        )

    def known_amazon_reports(self, account: str) -> set[tuple[str, str]]:
        """The Creators API reports the store's account has taken in already."""
        from flows import amazon_pull

        with self.writing():  # reading may migrate the file: a writer's turn
            return amazon_pull.known_reports(self.db, account)

    def load_amazon_reports(
        self,
        fetched: Sequence[Fetched],
        listed: Listed,
        *,
        account: str,
        marketplace: str,
        flow_run_id: str | None = None,
    ) -> AmazonPullSummary:
        """Load the downloaded earnings reports and record the others, as one run."""
        from flows import amazon_pull

        with self.writing():
            return amazon_pull.load(
                fetched,
                listed,
                db=self.db,
                account=account,
                marketplace=marketplace,
                flow_run_id=flow_run_id,
            )

    # --- reading (`passive tally`, `passive rejects`) ---------------------------------------

    def tally(
        self,
        by: TallyBy = "month",
        *,
        network: str | None = None,
        account: str | None = None,
    ) -> Tally:
        """Commission per group and currency, split by status (currencies never added)."""
        from warehouse.tally import tally

        with ledger(self.db, read_only=True) as con:
            return tally(con, by, network=network, account=account)

    def rejects(self, *, run: str | None = None, limit: int = 50) -> Tally:
        """Records that failed validation, newest first: where they were and why."""
        from warehouse.tally import rejects_list

        with ledger(self.db, read_only=True) as con:
            return rejects_list(con, run=run, limit=limit)

    def tally_in(
        self,
        by: TallyBy,
        base: str,
        *,
        basis: Basis = "event",
        network: str | None = None,
        account: str | None = None,
    ) -> Tally:
        """The tally with every line converted into `base` at ECB rates (FxInputError for a
        currency the ECB does not quote, or a ledger without rates yet)."""
        from flows.fx_steps import FxInputError, base_currency
        from warehouse.fx import latest_fixing_day
        from warehouse.fx import tally_in as run_tally_in

        code = base_currency(base)
        with ledger(self.db, read_only=True) as con:
            if latest_fixing_day(con) is None:
                raise FxInputError(
                    "no ECB rates in the ledger yet: run `passive fx update`, or `passive fx "
                    "load FILE` with a downloaded eurofxref-hist.zip"
                )
            return run_tally_in(con, by, code, basis=basis, network=network, account=account)

    # --- ECB rates (`passive fx`, fx-daily) --------------------------------------------------

    def update_fx(self, *, full: bool = False) -> FxLoadResult:
        """Fetch the ECB's reference rates: the whole history the first time (or `full`),
        else the last 90 days."""
        from flows import fx_steps

        with self.writing():
            return fx_steps.update(self.db, full=full)

    def load_fx(self, path: Path) -> FxLoadResult:
        """Load ECB reference rates from a downloaded file (zip, CSV or XML), offline."""
        from flows import fx_steps

        with self.writing():
            return fx_steps.load_rates_path(path, db=self.db)

    def fx_rates(
        self, *, currencies: Sequence[str] | None = None, day: date | None = None, days: int = 1
    ) -> Tally:
        """The rates held (units per euro) up to `day`, `days` fixing days of them."""
        from flows.fx_steps import FxInputError
        from warehouse.fx import fixings, has_fx

        with ledger(self.db, read_only=True) as con:
            if not has_fx(con):
                raise FxInputError("no ECB rates in the ledger yet: run `passive fx update`")
            chosen = list(currencies) if currencies is not None else None
            return fixings(con, currencies=chosen, day=day, days=days)

    # --- payments (`passive forecast`, `passive payments`) ----------------------------------

    def set_thresholds(self, thresholds: Sequence[tuple[str, Decimal]]) -> None:
        """Keep Amazon accounts' payment thresholds (ACCOUNT, AMOUNT) in the ledger."""
        from warehouse.payments import set_threshold

        with self.writing(), ledger(self.db) as con:
            for account, amount in thresholds:
                set_threshold(con, network=AMAZON, account=account, threshold=amount)

    def forecast(self, *, months: int, as_of: date | None = None) -> tuple[Rows, Rows]:
        """Money expected per month, network and currency (firm and likely), and what the
        rules cannot date yet."""
        from flows import payment_steps

        return (
            payment_steps.forecast(self.db, as_of=as_of, months=months),
            payment_steps.undated(self.db),
        )

    def payments(self, *, as_of: date | None = None) -> tuple[Rows, Rows, Rows]:
        """Payments reported, the reconciliation differences, and overdue lines summed."""
        from flows import payment_steps

        return payment_steps.payments_report(self.db, as_of=as_of)

    def _tuning(self) -> Tuning:
        """The caller's knobs, else the environment's (a bad one: TuningError, one line)."""
        from warehouse.tuning import TuningError, tuning_from_environment

        try:
            return self.tuning or tuning_from_environment()
        except TuningError as error:
            raise InputError(str(error)) from None
