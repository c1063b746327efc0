"""connectors.digests: a report's sha256 is read once while the file stays the same, never
reused for a file that changed, and begun early only for the files an ingest names."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from connectors import digests


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path digests.hash_file reads, in order; and digests kept from other tests gone."""
    seen: list[Path] = []
    real = digests.hash_file

    def counting(path: Path) -> str:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(digests, "hash_file", counting)
    monkeypatch.setattr(digests, "_digests", type(digests._digests)())
    return seen


def written(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_an_unchanged_file_is_read_once_and_its_digest_is_sha256(
    tmp_path: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digests, "_SETTLED_NS", 0)
    report = written(tmp_path / "report.csv", b"a,b\n1,2\n" * 1000)
    first = digests.sha256_of(report)
    again = digests.sha256_of(report)
    assert first == again == hashlib.sha256(report.read_bytes()).hexdigest()
    assert digests.known_sha256(report) == first
    assert reads == [report]


def test_a_file_rewritten_at_the_same_size_and_time_is_hashed_again(
    tmp_path: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digests, "_SETTLED_NS", 0)
    report = written(tmp_path / "report.csv", b"amount\n10.00\n")
    before = os.stat(report)
    first = digests.sha256_of(report)
    time.sleep(0.05)  # past the file times' tick
    report.write_bytes(b"amount\n99.00\n")
    os.utime(report, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime set back, as rsync -t
    assert os.stat(report).st_size == before.st_size
    assert digests.known_sha256(report) is None
    second = digests.sha256_of(report)
    assert second != first
    assert second == hashlib.sha256(b"amount\n99.00\n").hexdigest()
    assert len(reads) == 2


def test_a_file_changed_just_now_is_never_remembered(tmp_path: Path, reads: list[Path]) -> None:
    report = tmp_path / "report.csv"
    report.write_bytes(b"amount\n10.00\n")
    digests.sha256_of(report)
    digests.sha256_of(report)
    assert digests.known_sha256(report) is None
    assert len(reads) == 2


def test_a_missing_file_raises_and_leaves_nothing_behind(tmp_path: Path, reads: list[Path]) -> None:
    with pytest.raises(FileNotFoundError):
        digests.sha256_of(tmp_path / "gone.csv")
    assert digests.known_sha256(tmp_path / "gone.csv") is None


def test_an_ingest_hashes_its_report_files_early_but_not_the_ledger_or_other_commands(
    tmp_path: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digests, "_SETTLED_NS", 0)
    monkeypatch.setattr(digests, "_EARLY_MIN_BYTES", 1)
    report = written(tmp_path / "Fee-Earnings.csv", b"x\n" * 100)
    other = written(tmp_path / "other.tsv", b"y\n" * 100)
    ledger_csv = written(tmp_path / "ledger.csv", b"z\n" * 100)  # an option's value
    small = written(tmp_path / "notes.md", b"not a report suffix")

    for thread in digests.begin_early(["tally", str(report)]):
        thread.join()
    assert reads == []

    argv = ["ingest", str(report), "--db", str(ledger_csv), str(other), str(small), "--force"]
    threads = digests.begin_early(argv)
    digests.wait_early()  # what `passive ingest` does before it forks its workers
    assert threads and not any(thread.is_alive() for thread in threads)
    assert sorted(reads) == sorted([report, other])
    assert digests.known_sha256(report) == hashlib.sha256(report.read_bytes()).hexdigest()
    assert digests.known_sha256(ledger_csv) is None


def test_a_small_report_is_not_worth_a_thread(tmp_path: Path, reads: list[Path]) -> None:
    report = tmp_path / "Fee-Earnings.csv"
    report.write_bytes(b"x\n" * 100)
    assert digests.begin_early(["ingest", str(report)]) == []
