"""Pulling many accounts: which to pull, a per-network limit on how many at once, each
account's outcome, and the in-process fan-out (the Prefect one is flows/accounts_flow.py)."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: there, processes poll DuckDB's lock as before
    fcntl = None  # type: ignore[assignment]

from connectors.accounts import Account
from connectors.errors import ConnectorError
from flows.pull_steps import PullInputError, load_accounts, record_counts, resolve_account

# How many accounts of one network are pulled at the same time, by default. The networks'
# quotas are per login (impact.com 1,000 requests an hour per Account SID, Awin 20 a minute per
# user) and are kept by the HTTP layer's bucket per login (connectors/http.py, shared_bucket);
# this bounds the open connections and the memory of pulls in flight.
DEFAULT_PARALLEL = {"impact": 4, "awin": 2, "cj": 4, "amazon": 2}
PULL_NETWORKS = ("amazon", "impact", "awin", "cj")


def parallel_limit(network: str) -> int:
    """Accounts of `network` pulled at once: PASSIVE_<NETWORK>_PARALLEL_ACCOUNTS, else the
    default above (at least 1)."""
    raw = os.environ.get(f"PASSIVE_{network.upper()}_PARALLEL_ACCOUNTS", "")
    try:
        return max(1, int(raw)) if raw.strip() else DEFAULT_PARALLEL.get(network, 1)
    except ValueError:
        raise PullInputError(
            f"PASSIVE_{network.upper()}_PARALLEL_ACCOUNTS: expected a whole number, got {raw!r}"
        ) from None


class NetworkSlots:
    """At most `limit(network)` accounts of a network at a time, in this process.

    A semaphore per network, made on first use; threads of one fan-out share it. Prefect runs
    also hold a global concurrency limit per network (flows/concurrency.py) so that worker
    processes on several machines share the bound; this one works without a Prefect server.
    """

    def __init__(self, limit: Callable[[str], int] = parallel_limit) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def semaphore(self, network: str) -> threading.BoundedSemaphore:
        """The network's semaphore."""
        with self._lock:
            if network not in self._slots:
                self._slots[network] = threading.BoundedSemaphore(self._limit(network))
            return self._slots[network]

    @contextmanager
    def hold(self, network: str) -> Iterator[None]:
        """Wait for one of the network's slots and hold it for the block."""
        with self.semaphore(network):
            yield


@dataclass
class AccountOutcome:
    """What pulling one account did: for the CLI's lines and the run's artifact."""

    account: str
    network: str
    status: str  # completed | completed_with_rejects | failed
    message: str = ""
    exit_code: int = 0
    records: int = 0
    new: int = 0
    changed: int = 0
    rejected: int = 0
    run_id: str | None = None
    payments: str = ""  # what its payments pull did, one line ("" when it has none)

    @property
    def line(self) -> str:
        """One line: the account and what happened."""
        head = f"{self.network} {self.account}: "
        if self.status == "failed":
            return head + f"failed: {self.message}"
        return head + (self.message or self.status)


@dataclass
class FanOutSummary:
    """Every account's outcome, in the order they were asked for."""

    outcomes: list[AccountOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 if any account failed, 1 if any rejected records, else 0 (the others still ran)."""
        return max((o.exit_code for o in self.outcomes), default=0)

    def count(self, status: str) -> int:
        """How many accounts ended with `status`."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def headline(self) -> str:
        """One line for the whole run."""
        failed = self.count("failed")
        done = len(self.outcomes) - failed
        return f"{len(self.outcomes)} accounts: {done} pulled, {failed} failed"


def select_accounts(
    network: str | None,
    account: str | None = None,
    *,
    every: bool = False,
    config: str | os.PathLike[str] | None = None,
) -> list[Account]:
    """The accounts a `pull` means: `--all` every account of every network; NETWORK every
    account of it; `--account NAME` that one. Usage errors are one line."""
    accounts = load_accounts(config)
    if every:
        if network is not None or account is not None:
            raise PullInputError("--all pulls every account; give no NETWORK or --account with it")
        if not accounts.accounts:  # an empty passive.toml: pulling nothing is no success
            raise PullInputError(
                f"{accounts.where}: no accounts; add an [accounts.NAME] table with "
                'network = "impact" (or "awin", "cj", "amazon")'
            )
        return list(accounts.accounts)
    if network is None:
        if account is None:
            raise PullInputError("name a NETWORK (impact, awin, cj, amazon), or give --all")
        found = accounts.named(account)
        if found is None:
            names = ", ".join(a.name for a in accounts.accounts) or "none"
            raise PullInputError(f"{accounts.where}: no account {account!r}; accounts: {names}")
        return [found]
    if network not in PULL_NETWORKS:
        raise PullInputError(
            f"unknown network {network!r}; networks: {', '.join(sorted(PULL_NETWORKS))}"
        )
    if account is not None:
        if network == "amazon":
            found = accounts.named(account)
            if found is None or found.network != "amazon":
                raise PullInputError(f"{accounts.where}: no amazon account {account!r}")
            return [found]
        return [resolve_account(network, account, config)]
    found_all = accounts.of(network)
    if not found_all:
        raise PullInputError(
            f"{accounts.where}: no {network} account; add an [accounts.NAME] table with "
            f'network = "{network}"'
        )
    return found_all


def outcome_of(account: Account, summary: Any) -> AccountOutcome:
    """An account's outcome from a pull's summary (an API pull's or an Amazon store's)."""
    from flows.amazon_pull import AmazonPullSummary, run_message

    if isinstance(summary, AmazonPullSummary):
        loaded = [line for line in summary.reports if line.status == "loaded"]
        return AccountOutcome(
            account.name,
            account.network,
            "failed" if summary.exit_code == 2 else "completed",
            message=run_message(summary),
            exit_code=summary.exit_code,
            records=sum(line.read for line in loaded),
            new=sum(line.loaded for line in loaded),
            rejected=sum(line.rejected for line in loaded),
            run_id=summary.run_id,
        )
    result = summary.result
    if summary.status == "failed" or result is None:
        return AccountOutcome(
            account.name,
            account.network,
            "failed",
            message=f"{summary.message}; its ledger lines and cursor are unchanged",
            exit_code=2,
            run_id=summary.run_id,
        )
    return AccountOutcome(
        account.name,
        account.network,
        summary.status,
        message=f"{summary.plan.start:%Y-%m-%d} to {summary.plan.end:%Y-%m-%d}: "
        f"{record_counts(result)}",
        exit_code=summary.exit_code,
        records=result.records_read,
        new=result.inserted,
        changed=result.changed,
        rejected=result.rejected,
        run_id=summary.run_id,
        payments=summary.payments.line() if summary.payments is not None else "",
    )


def failed_outcome(account: Account, error: BaseException) -> AccountOutcome:
    """An account whose pull could not start or stopped: the others go on."""
    message = (
        str(error)
        if isinstance(error, ConnectorError | PullInputError)
        else (f"{type(error).__name__}: {error}")
    )
    return AccountOutcome(account.name, account.network, "failed", message=message, exit_code=2)


def pull_account(
    account: Account,
    *,
    db: str | Path | None,
    since: date | None = None,
    until: date | None = None,
    writing: Callable[[], AbstractContextManager[Any]],
    overrides: dict[str, Any] | None = None,
) -> AccountOutcome:
    """Pull one account in-process; whatever goes wrong is its outcome, never raised."""
    from flows import pull_steps

    try:
        if account.network == "amazon":
            from flows import amazon_pull

            assert account.marketplace is not None  # passive.toml requires it
            with tempfile.TemporaryDirectory(prefix="passive-amazon-") as folder:
                summary: Any = amazon_pull.pull(
                    account=account.name,
                    marketplace=account.marketplace,
                    db=db,
                    since=since,
                    until=until,
                    folder=Path(folder),
                    overrides=overrides,
                    named=account,
                    writing=writing,
                )
        else:
            summary = pull_steps.pull(
                account.network,
                db=db,
                since=since,
                until=until,
                account=account,
                overrides=overrides,
                writing=writing,
            )
    except Exception as error:  # one account's failure must not stop the others
        return failed_outcome(account, error)
    return outcome_of(account, summary)


@contextmanager
def writer_turn(db: str | Path | None) -> Iterator[None]:
    """Wait for this ledger file's turn among the processes pulling into it, queued by the OS.

    DuckDB lets one process write a file at a time and a refused opener polls (every 0.1 s
    up to 2 s, warehouse/connection.py): with several fan-out processes on one file, a poller
    kept missing the free moments and gave up after 30 s (bench accounts, 4 workers, 100
    accounts). A blocking `flock` on `<ledger>.writers` hands the file over as it frees. A
    DuckLake ledger takes concurrent writers itself and needs no turn.
    """
    from warehouse import lake
    from warehouse.connection import resolve_db_path

    path = resolve_db_path(db)  # $PASSIVE_DB may name the lake when `db` is None
    if lake.is_lake(path) or fcntl is None:
        yield
        return
    with open(f"{path}.writers", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def pull_accounts(
    accounts: Sequence[Account],
    *,
    db: str | Path | None,
    since: date | None = None,
    until: date | None = None,
    slots: NetworkSlots | None = None,
    on_done: Callable[[AccountOutcome], None] | None = None,
) -> FanOutSummary:
    """Pull every account in-process, several at once: at most `parallel_limit(network)` of a
    network together, requests paced per login, the ledger written by one at a time."""
    slots = slots or NetworkSlots()
    writer = threading.Lock()  # one DuckDB writer at a time: loads queue, fetches overlap

    @contextmanager
    def writing() -> Iterator[None]:
        with writer, writer_turn(db):
            yield

    def one(account: Account) -> AccountOutcome:
        with slots.hold(account.network):
            outcome = pull_account(account, db=db, since=since, until=until, writing=writing)
        if on_done is not None:
            on_done(outcome)
        return outcome

    workers = sum(parallel_limit(n) for n in {a.network for a in accounts}) or 1
    with ThreadPoolExecutor(max_workers=min(workers, len(accounts) or 1)) as pool:
        outcomes = list(pool.map(one, accounts))
    return FanOutSummary(outcomes)
