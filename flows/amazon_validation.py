"""Where Amazon report lines are validated: worker processes over the Python reader's chunks
(a context manager the command opens), and the few lines DuckDB's scan could not vouch for.

connectors/amazon parses, schemas/amazon validates and maps (pure functions); this module only
decides where that runs, so the processes have one owner and one lifetime.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.pool import AsyncResult, Pool
from types import TracebackType
from typing import Literal, overload

import pyarrow as pa

from connectors.amazon import ParsedChunk, RawBatch, RawChunk, RawLine, ReportFile, parse_chunk
from connectors.amazon.plain_file import LinesNotFollowedError, data_lines
from schemas.amazon import validate_earnings_batch as validate_lines
from schemas.amazon import validate_parsed
from schemas.validation import LEDGER_ARROW_SCHEMA, ColumnarBatch, Reject, ValidatedBatch
from warehouse.amazon_scan import ScanUnavailableError

_PARALLEL_MIN_RECORDS = 20_000  # below this a batch is validated in-process

# How worker processes start. "fork" starts them in milliseconds with everything imported, but
# only a single-threaded process may fork: another thread (Prefect's API client and log
# shipping, a progress bar) may hold a lock the fork would copy mid-use. The CLI forks before
# its progress bar starts. Anything else (a Prefect run, a library call) uses "forkserver": a
# fresh single-threaded server process, started when the first big batch needs it, that
# imports this module once and forks the workers from itself.
StartMethod = Literal["fork", "forkserver"]


class ValidationWorkers:
    """Up to `count` processes that parse and validate the Python reader's chunks.

    Use as a context manager: the pool starts when `start()` is called or the first batch big
    enough to share needs it, and is closed (or, after an error, terminated) on exit. Fewer
    than two workers, or a platform without the start method, validates in-process.
    """

    def __init__(self, count: int, *, start_method: StartMethod = "forkserver") -> None:
        self.count = count
        self.start_method = start_method
        self._pool: Pool | None = None
        self._closed = False

    @property
    def running(self) -> bool:
        """Whether the processes have been started (and not yet stopped)."""
        return self._pool is not None

    def start(self) -> bool:
        """Start the processes now (the CLI: before its progress bar's thread); True if running."""
        return self._get() is not None

    def _get(self) -> Pool | None:
        if self._pool is None and not self._closed:
            if self.count < 2 or self.start_method not in multiprocessing.get_all_start_methods():
                return None
            context = multiprocessing.get_context(self.start_method)
            if self.start_method == "forkserver":
                # Import what the workers run, not the caller's __main__ (a CLI, pytest, Prefect).
                context.set_forkserver_preload([__name__])
            self._pool = context.Pool(self.count, initializer=_worker_init)
        return self._pool

    def __enter__(self) -> ValidationWorkers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._closed = True
        if self._pool is not None:
            if kind is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
            self._pool = None

    def pool_for(self, batch: RawBatch) -> Pool | None:
        """The pool, if this batch is worth sharing out."""
        return self._get() if _parallel(batch) else None

    def validate_batch(self, batch: RawBatch, *, account: str) -> ColumnarBatch:
        """One batch, over the workers when it is big enough."""
        pool = self.pool_for(batch)
        jobs = _jobs(batch, account)
        if pool is not None:
            return _collect(pool.map(_validate_chunk_job, jobs, chunksize=1))
        return _collect([_validate_chunk_job(job) for job in jobs])

    def validate_stream(
        self, batches: Iterable[RawBatch], *, account: str
    ) -> Iterator[ColumnarBatch]:
        """Every batch of a report, one batch ahead in the workers.

        While the caller stages batch N into DuckDB, the worker processes already validate
        batch N+1 (the profile showed the main process idle during validation and the workers
        idle during staging). At most two batches are in flight, so memory stays flat.
        """
        pending: AsyncResult[list[_ChunkResult]] | None = None
        for batch in batches:
            pool = self.pool_for(batch)
            if pool is None:
                if pending is not None:
                    yield _collect(pending.get())
                    pending = None
                yield self.validate_batch(batch, account=account)
                continue
            submitted = pool.map_async(_validate_chunk_job, _jobs(batch, account), chunksize=1)
            if pending is not None:
                yield _collect(pending.get())
            pending = submitted
        if pending is not None:
            yield _collect(pending.get())


IN_PROCESS = ValidationWorkers(0)
"""Validation in the calling process (no workers): for small inputs and tests."""


def validate_earnings_stream(
    batches: Iterable[RawBatch], *, account: str, workers: ValidationWorkers = IN_PROCESS
) -> Iterator[ColumnarBatch]:
    """A report's batches validated, one batch ahead in `workers` (ValidationWorkers)."""
    return workers.validate_stream(batches, account=account)


@overload
def validate_earnings_batch(  # type: ignore[overload-overlap]  # RawBatch is the specific case
    batch: RawBatch, report: ReportFile, *, account: str
) -> ColumnarBatch: ...


@overload
def validate_earnings_batch(
    batch: Sequence[RawLine], report: ReportFile, *, account: str
) -> ValidatedBatch: ...


def validate_earnings_batch(
    batch: RawBatch | Sequence[RawLine], report: ReportFile, *, account: str
) -> ColumnarBatch | ValidatedBatch:
    """Validate a batch in this process: a RawBatch straight from the reader takes the bulk
    path (columns), RawLines already in hand the per-model path (schemas/amazon.py)."""
    if isinstance(batch, RawBatch):
        return IN_PROCESS.validate_batch(batch, account=account)
    return validate_lines(batch, report, account=account)


def _worker_init() -> None:
    # Workers only make short-lived acyclic objects (cells, tuples, Decimals); letting the
    # cyclic GC walk them cost ~40% of validation time in the profile.
    gc.disable()


def _jobs(batch: RawBatch, account: str) -> list[tuple[ReportFile, str, RawChunk]]:
    return [(batch.report, account, chunk) for chunk in batch.chunks]


def _parallel(batch: RawBatch) -> bool:
    return len(batch.chunks) > 1 and sum(c.records for c in batch.chunks) >= _PARALLEL_MIN_RECORDS


# A chunk's ledger columns, rejects, rows read, and its skipped and continued lines.
_ChunkResult = tuple[pa.Table, list[Reject], int, int, int]


def _collect(results: list[_ChunkResult]) -> ColumnarBatch:
    tables = [result[0] for result in results]
    rejects = [reject for result in results for reject in result[1]]
    table = (
        (pa.concat_tables(tables) if len(tables) > 1 else tables[0])
        if tables
        else LEDGER_ARROW_SCHEMA.empty_table()
    )
    return ColumnarBatch(
        table,
        rejects,
        sum(result[2] for result in results),
        skipped_lines=sum(result[3] for result in results),
        continued_lines=sum(result[4] for result in results),
    )


def _validate_chunk_job(job: tuple[ReportFile, str, RawChunk]) -> _ChunkResult:
    report, account, chunk = job
    enabled = gc.isenabled()
    gc.disable()  # see _worker_init; nothing here makes cycles
    try:
        parsed = parse_chunk(report, chunk)
        table, rejects = validate_parsed(parsed, report, account=account)
    finally:
        if enabled:
            gc.enable()
    return table, rejects, parsed.records, parsed.skipped, parsed.continued


# Lines apart that still share one chunk in decide_leftovers: the gap is filled with blank
# lines (which the parser skips), so a chunk is one parse and one validation however the
# lines are scattered (10,000 bad lines, one in every hundred: 1.6 s and +120 MB as one chunk
# per line, bench/), while a few lines far apart do not make a chunk of the whole file.
_LEFTOVER_GAP = 10_000


def decide_leftovers(
    leftovers: dict[int, tuple[str | None, str | None]], report: ReportFile, *, account: str
) -> ColumnarBatch:
    """The lines that were not plain, read and validated by the Python path."""
    try:
        found = data_lines(report, set(leftovers))
    except LinesNotFollowedError as why:
        raise ScanUnavailableError(str(why)) from None
    tables: list[pa.Table] = []
    rejects: list[Reject] = []
    records = skipped = 0
    groups: list[list[int]] = []
    for ordinal in sorted(found):
        line_no = found[ordinal][0]
        if groups and line_no - found[groups[-1][-1]][0] <= _LEFTOVER_GAP:
            groups[-1].append(ordinal)
        else:
            groups.append([ordinal])
    for group in groups:
        first, last = found[group[0]][0], found[group[-1]][0]
        text = ["\n"] * (last - first + 1)  # parse_chunk numbers lines from the first
        for ordinal in group:
            text[found[ordinal][0] - first] = found[ordinal][1]
        parsed = parse_chunk(report, RawChunk(first, text, len(group)))
        _check_same_row(parsed, {found[o][0]: leftovers[o] for o in group}, report)
        table, chunk_rejects = validate_parsed(parsed, report, account=account)
        tables.append(table)
        rejects += chunk_rejects
        records += parsed.records
        # The blank lines filling the gaps are not the report's: only its own fillers count.
        skipped += parsed.skipped - (len(text) - len(group))
    table = pa.concat_tables(tables) if tables else LEDGER_ARROW_SCHEMA.empty_table()
    return ColumnarBatch(table, rejects, records, skipped_lines=skipped)


def _check_same_row(
    parsed: ParsedChunk, scanned: dict[int, tuple[str | None, str | None]], report: ReportFile
) -> None:
    """The Python reader must see, line by line, the row DuckDB saw there (else it drifted)."""
    keys = [report.columns.index("asin"), report.columns.index("tracking_id")]
    for line_no, cells in zip(parsed.line_nos, parsed.cells, strict=True):
        seen = [(value or "").strip() for value in scanned[line_no]]
        if [cells[i].strip() for i in keys] != seen:
            raise ScanUnavailableError(f"DuckDB and the Python reader disagree at line {line_no}")
