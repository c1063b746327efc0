"""Validation worker processes give what in-process validation gives, whoever starts them."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from connectors.amazon import iter_raw_batches, open_reports
from flows.amazon_validation import IN_PROCESS, ValidationWorkers, validate_earnings_stream
from sandbox.amazon_reports import write_earnings_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workers") / "Fee-Earnings-US.csv"
    # Big enough that a batch is shared out (flows/amazon_validation.py, _PARALLEL_MIN_RECORDS).
    write_earnings_report(
        path,
        marketplace="US",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        lines=45_000,
        seed=11,
    )
    return path


def _validated(path: Path, workers: ValidationWorkers) -> tuple[pa.Table, list[object], int]:
    (opened,) = open_reports(path, marketplace="US")
    batches = list(
        validate_earnings_stream(
            iter_raw_batches(opened, batch_size=20_000), account="me", workers=workers
        )
    )
    table = pa.concat_tables([b.table for b in batches])
    return table, [r for b in batches for r in b.rejects], sum(b.records_read for b in batches)


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_workers_validate_exactly_what_one_process_validates(
    report: Path, start_method: str
) -> None:
    expected = _validated(report, IN_PROCESS)
    with ValidationWorkers(2, start_method=start_method) as workers:  # type: ignore[arg-type]
        got = _validated(report, workers)
        assert workers.running  # started by the first batch big enough to share out
    assert got[0].equals(expected[0]) and got[1:] == expected[1:]
    assert expected[2] == 45_000


def test_a_forkserver_pool_runs_while_other_threads_exist(report: Path) -> None:
    """A Prefect run has threads (API client, log shipping): its validation is parallel too,
    where the old pool silently fell back to one core when another thread existed."""
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, name="like-prefect-logging")
    busy.start()
    try:
        with ValidationWorkers(2) as workers:
            table, rejects, read = _validated(report, workers)
            assert workers.running
    finally:
        stop.set()
        busy.join()
    assert read == 45_000 and table.num_rows + len(rejects) == 45_000


def test_workers_are_gone_when_the_block_ends(report: Path) -> None:
    with ValidationWorkers(2, start_method="fork") as workers:
        assert workers.start()
    assert not workers.running and not workers.start()  # closed: nothing runs or starts again
