"""Run one contender in a fresh process and measure its wall time and peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
_SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class Run:
    """One measured process: wall seconds from spawn to exit, peak memory, exit code, stdout,
    and CPU seconds (user + system) of the process and every process it started."""

    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    cpu_seconds: float = 0.0


def _tree_rss_kb(pid: int) -> int:
    """Resident memory (RSS) of `pid` plus all its descendants, in KiB (from /proc).

    /proc/PID/statm is a counter read (~15 µs). The PSS of smaps_rollup, sampled here before,
    walks the process's page tables under its memory-map lock: 12 ms per read on our 300 MB
    ingest, every 20 ms, so the sampler slowed the process it measured (by ~0.5 s on the
    1M-line ingest, more than dlt's; bench/out/). A sum of RSS counts pages that forked
    workers share once per process: it can only overstate the peak.
    """
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1]) * page_kb
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as children:
                pending += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue
    return total


def _tree_cpu(pid: int, seen: dict[int, float]) -> None:
    """Record the CPU seconds so far of `pid` and its descendants in `seen` (by pid).

    wait4's rusage counts the process and the children it waited for; a worker nobody waits
    for (a forkserver's child) is only seen here, sampled while it runs.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            seen[current] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as children:
                pending += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue


def run(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Run:
    """Run `command` to completion; wall time includes interpreter start-up and imports.

    Peak memory is the larger of the process's own peak RSS (ru_maxrss from wait4, exact for
    one process) and the highest sampled RSS of its whole process tree (workers included).
    """
    full_env = {**os.environ, **(env or {})}
    # Every contender imports from cached bytecode, as a user's second run does: with
    # PYTHONDONTWRITEBYTECODE set (some shells and CI images set it) each process compiled
    # its imports again, ~0.7 s of the 1.2 s an unchanged re-ingest took (cProfile: 163
    # modules through builtins.compile).
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env=full_env,
        cwd=cwd or ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_kb = [0]
    cpu_seen: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_kb[0] = max(peak_kb[0], _tree_rss_kb(process.pid))
            _tree_cpu(process.pid, cpu_seen)
            done.wait(_SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout_chunks: list[str] = []
    stderr_chunks: list[str] = []
    readers = [
        threading.Thread(target=lambda: stdout_chunks.append(process.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = max(peak_kb[0], usage.ru_maxrss) / 1024
    # The exact figure of the process and the children it reaped, or the sampled sum over
    # the tree if that is more (it is short by at most one sampling interval per process).
    cpu = max(usage.ru_utime + usage.ru_stime, sum(cpu_seen.values()))
    if process.returncode not in (0, 1):
        sys.stderr.write("".join(stderr_chunks)[-4000:])
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")
    return Run(seconds, peak_mb, process.returncode, "".join(stdout_chunks), cpu)


def median(values: Sequence[float]) -> float:
    """The median (several runs damp the noise of a shared machine)."""
    return float(statistics.median(values))


def verdict(ok: bool) -> str:
    """PASS or FAIL, as printed beside each goal."""
    return "PASS" if ok else "FAIL"
