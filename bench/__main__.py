"""`python -m bench ingest|memory|reingest|tally|impact|prefect|accounts|lake|all`: race the peers,
print PASS/FAIL per goal."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.accounts_bench import bench_accounts
from bench.data import CASES, Case, ensure_case, ensure_ledger, ensure_report
from bench.harness import OUT, ROOT, Run, median, run, verdict
from bench.lake_bench import bench_lake
from bench.prefect_bench import bench_prefect

PYTHON = sys.executable
PASSIVE = str(Path(sys.executable).parent / "passive")
# In-process CLI runs: no Prefect server (DESIGN.md: CLI commands run in-process without one).
IN_PROCESS = {"PREFECT_API_URL": ""}
CONTENDERS = ("ours", "dlt", "duckdb")
LABELS = {
    "ours": "passive ingest (parse, validate every line, load, views)",
    "dlt": "dlt 1.31: pyarrow table, merge on a key, no validation",
    "duckdb": "DuckDB read_csv, typed, into a table (the limit)",
}


def _fresh_dir(name: str) -> Path:
    folder = OUT / "runs" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _count(db: Path, sql: str) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _contender_command(kind: str, report: Path, db: Path) -> list[str]:
    if kind == "ours":
        return [PASSIVE, "ingest", str(report), "--account", "bench", "--db", str(db)]
    return [PYTHON, "-m", "bench.contenders", kind, str(report), str(db)]


def _loaded_rows(kind: str, db: Path, result: Run) -> int:
    if kind == "ours":
        return _count(db, "SELECT count(*) FROM commissions")
    return int(result.stdout.split()[-1])


# Goals of issue 17, on every case: ours against dlt's fastest path and DuckDB's reader.
GOAL_DLT_WALL = 0.6
GOAL_DLT_CPU = 1.0
GOAL_READ_CSV_WALL = 3.0
GOAL_PEAK_MB = 400.0


def bench_ingest(
    lines: int, seed: int, runs: int, contenders: tuple[str, ...], case: Case = "repeats"
) -> dict[str, Any]:
    """Ours against dlt and DuckDB on the same file, each in a fresh process on a fresh DB."""
    report = ensure_case(case, lines, seed)
    size_mb = report.stat().st_size / 1e6
    print(f"\n== ingest, case {case!r}: {lines:,} lines ({size_mb:.1f} MB, seed {seed}),"
          f" {runs} runs each")  # fmt: skip
    print("   wall time = process start to exit (interpreter start-up and imports included for")
    print("   every contender); CPU = user + system of the process and its workers;")
    print("   peak = highest RSS of the process and its workers")
    samples: dict[str, list[Run]] = {kind: [] for kind in contenders}
    for attempt in range(runs):
        # Interleaved, so a busy moment on a shared machine hits every contender alike.
        for kind in contenders:
            folder = _fresh_dir(f"ingest-{kind}")
            db = folder / "ledger.duckdb"
            result = run(_contender_command(kind, report, db), env=IN_PROCESS, cwd=folder)
            loaded = _loaded_rows(kind, db, result)
            if loaded != lines:
                raise RuntimeError(f"{kind} loaded {loaded:,} rows, expected {lines:,}")
            samples[kind].append(result)
            print(f"   run {attempt + 1} {kind:<7} {result.seconds:7.2f} s wall"
                  f" {result.cpu_seconds:7.2f} s CPU {result.peak_mb:7.0f} MB")  # fmt: skip
    figures: dict[str, dict[str, Any]] = {
        kind: {
            "seconds": median([r.seconds for r in samples[kind]]),
            "cpu_seconds": median([r.cpu_seconds for r in samples[kind]]),
            "peak_mb": median([r.peak_mb for r in samples[kind]]),
            "runs": [[r.seconds, r.cpu_seconds, r.peak_mb] for r in samples[kind]],
        }
        for kind in contenders
    }
    print(f"\n   {'contender':<58} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}"
          f" {'wall/it':>8} {'CPU/it':>7}")  # fmt: skip
    ours = figures.get("ours")
    for kind in contenders:
        it = figures[kind]
        wall = "-" if kind == "ours" or not ours else f"{ours['seconds'] / it['seconds']:.2f}"
        cpu = (
            "-" if kind == "ours" or not ours else f"{ours['cpu_seconds'] / it['cpu_seconds']:.2f}"
        )
        print(f"   {LABELS[kind]:<58} {it['seconds']:7.2f} {it['cpu_seconds']:7.2f}"
              f" {it['peak_mb']:8.0f} {wall:>8} {cpu:>7}")  # fmt: skip
    if ours and "dlt" in figures:
        # Each run's pair, ours over dlt's of the same round: the median of those damps a busy
        # moment better than a ratio of medians.
        pairs = [
            o.seconds / d.seconds for o, d in zip(samples["ours"], samples["dlt"], strict=True)
        ]
        print("   ours/dlt wall per interleaved round: " + ", ".join(f"{p:.2f}" for p in pairs))
    targets: list[dict[str, Any]] = []
    if ours and "dlt" in figures:
        value = ours["seconds"] / figures["dlt"]["seconds"]
        targets.append(_target("ours/dlt wall time", value, f"<= {GOAL_DLT_WALL}",
                               value <= GOAL_DLT_WALL))  # fmt: skip
        value = ours["cpu_seconds"] / figures["dlt"]["cpu_seconds"]
        targets.append(_target("ours/dlt CPU time", value, f"<= {GOAL_DLT_CPU}",
                               value <= GOAL_DLT_CPU))  # fmt: skip
    if ours and "duckdb" in figures:
        value = ours["seconds"] / figures["duckdb"]["seconds"]
        targets.append(_target("ours/duckdb read_csv wall time", value,
                               f"<= {GOAL_READ_CSV_WALL:g}",
                               value <= GOAL_READ_CSV_WALL))  # fmt: skip
    if ours:
        value = ours["peak_mb"]
        targets.append(_target("ours peak memory (MB)", value, f"< {GOAL_PEAK_MB:g}",
                               value < GOAL_PEAK_MB))  # fmt: skip
    return {"case": case, "lines": lines, "seed": seed, "mb": size_mb, "figures": figures,
            "targets": targets}  # fmt: skip


def bench_memory(cases: tuple[Case, ...], sizes: tuple[int, ...], seed: int) -> dict[str, Any]:
    """Ours alone at each size: peak memory must stay under the goal and flat as files grow."""
    print(f"\n== peak memory of ours by size: {', '.join(f'{n:,}' for n in sizes)} lines")
    results: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for case in cases:
        peaks: list[float] = []
        for lines in sizes:
            report = ensure_case(case, lines, seed)
            folder = _fresh_dir("memory-ours")
            db = folder / "ledger.duckdb"
            result = run(_contender_command("ours", report, db), env=IN_PROCESS, cwd=folder)
            loaded = _count(db, "SELECT count(*) FROM commissions")
            if loaded != lines:
                raise RuntimeError(f"ours loaded {loaded:,} rows, expected {lines:,}")
            peaks.append(result.peak_mb)
            results[f"{case}-{lines}"] = [result.seconds, result.cpu_seconds, result.peak_mb]
            print(f"   {case:<9} {lines:>11,} lines {result.seconds:7.1f} s wall"
                  f" {result.cpu_seconds:7.1f} s CPU {result.peak_mb:6.0f} MB")  # fmt: skip
        top = max(peaks)
        targets.append(_target(f"{case}: peak memory at every size (MB)", top,
                               f"< {GOAL_PEAK_MB:g}", top < GOAL_PEAK_MB))  # fmt: skip
        # Flat: the biggest file may not take more than a quarter again the smallest's memory.
        growth = top / peaks[0]
        targets.append(_target(f"{case}: peak at {sizes[-1]:,} / at {sizes[0]:,}", growth,
                               "<= 1.25", growth <= 1.25))  # fmt: skip
    return {"sizes": list(sizes), "runs": results, "targets": targets}


def _target(name: str, value: float, bound: str, ok: bool) -> dict[str, Any]:
    print(f"   target {name:<44} {value:9.2f}  {bound:<7} {verdict(ok)}")
    return {"name": name, "value": value, "bound": bound, "pass": ok}


_IN_PROCESS_INGEST = """
import sys, time
from flows.ledger import Ledger
started = time.perf_counter()
summary = Ledger(sys.argv[2]).ingest([sys.argv[1]], account="bench", marketplace="US")
elapsed = time.perf_counter() - started
assert [r.status for r in summary.reports] == ["skipped"], summary.reports
print(elapsed)
"""


def bench_reingest(lines: int, seed: int, runs: int) -> dict[str, Any]:
    """The same unchanged file again: recognised by its content hash and skipped."""
    report = ensure_report(lines, seed)
    folder = _fresh_dir("reingest")
    db = folder / "ledger.duckdb"
    print(f"\n== re-ingest an unchanged {lines:,}-line file, {runs} runs")
    run(_contender_command("ours", report, db), env=IN_PROCESS, cwd=folder)  # the first load
    before = _count(db, "SELECT count(*) FROM commissions")
    command = _contender_command("ours", report, db)
    cli = [run(command, env=IN_PROCESS, cwd=folder) for _ in range(runs)]
    inner = [
        float(run([PYTHON, "-c", _IN_PROCESS_INGEST, str(report), str(db)], cwd=ROOT).stdout)
        for _ in range(runs)
    ]
    if _count(db, "SELECT count(*) FROM commissions") != before:
        raise RuntimeError("re-ingesting changed the ledger")
    wall = median([r.seconds for r in cli])
    work = median(inner)
    print(f"   `passive ingest` process, start to exit     {wall:7.3f} s")
    print(f"   the same work in-process, after imports     {work:7.3f} s")
    targets = [
        _target("re-ingest, whole CLI process (s)", wall, "< 0.5", wall < 0.5),
        _target("re-ingest, in-process work (s)", work, "< 0.5", work < 0.5),
    ]
    return {"lines": lines, "cli_seconds": wall, "in_process_seconds": work, "targets": targets}


_TALLY = """
import sys, time
from warehouse.connection import ledger
from warehouse.tally import tally
with ledger(sys.argv[1], read_only=True) as con:
    started = time.perf_counter()
    result = tally(con, "month")
    elapsed = time.perf_counter() - started
assert result.rows
print(elapsed)
"""


def bench_tally(lines: int, seed: int, runs: int) -> dict[str, Any]:
    """`passive tally --by month` over a big ledger: the query, and the whole command."""
    started = time.perf_counter()
    db = ensure_ledger(lines, seed)
    built = time.perf_counter() - started
    print(f"\n== monthly tally on a {lines:,}-line ledger ({built:.0f} s to build), {runs} runs")
    query = [float(run([PYTHON, "-c", _TALLY, str(db)]).stdout) for _ in range(runs)]
    cli = [
        run([PASSIVE, "tally", "--by", "month", "--db", str(db), "--format", "csv"], env=IN_PROCESS)
        for _ in range(runs)
    ]
    q = median(query)
    wall = median([r.seconds for r in cli])
    print(f"   tally query (warehouse.tally, month)        {q:7.3f} s")
    print(f"   `passive tally --by month` process          {wall:7.3f} s")
    targets = [_target("monthly tally query on the ledger (s)", q, "< 0.2", q < 0.2)]
    return {"lines": lines, "query_seconds": q, "cli_seconds": wall, "targets": targets}


def bench_impact(actions: int, seed: int, runs: int) -> dict[str, Any]:
    """`passive pull impact` of `actions` actions over paged HTTP from the loopback sandbox."""
    from connectors.settings import ImpactSettings
    from sandbox.dataset import Dataset
    from sandbox.server import run_sandbox

    print(f"\n== pull {actions:,} impact.com actions over loopback HTTP, {runs} runs")
    dataset = Dataset(seed, impact_actions=actions)
    settings = ImpactSettings()
    samples: list[Run] = []
    requests: list[int] = []
    with run_sandbox(dataset) as sandbox:
        env = {**sandbox.env(), **IN_PROCESS}
        for attempt in range(runs):
            folder = _fresh_dir("impact")
            db = folder / "ledger.duckdb"
            sandbox.clear_requests()
            command = [PASSIVE, "pull", "impact", "--since", dataset.start.isoformat()]
            result = run([*command, "--db", str(db)], env=env, cwd=folder)
            loaded = _count(db, "SELECT count(*) FROM commissions WHERE network = 'impact'")
            if loaded != actions:
                raise RuntimeError(f"pulled {loaded:,} actions, expected {actions:,}")
            samples.append(result)
            requests.append(len(sandbox.requests("impact")))
            print(f"   run {attempt + 1} {result.seconds:7.2f} s {result.cpu_seconds:7.2f} s CPU"
                  f" {result.peak_mb:7.0f} MB, {requests[-1]} requests")  # fmt: skip
    wall = median([r.seconds for r in samples])
    # CPU of the CLI's process tree: what a change to the pull costs, whoever shares the cores.
    cpu = median([r.cpu_seconds for r in samples])
    # The client's token bucket: `burst` back to back, then `requests` per `period`.
    allowed = settings.rate_limit_burst + wall * (
        settings.rate_limit_requests / settings.rate_limit_period_seconds
    )
    within = max(requests) <= allowed
    print(f"   rate limit: {max(requests)} requests, allowed {allowed:.0f} in {wall:.1f} s"
          f" ({settings.rate_limit_requests}/{settings.rate_limit_period_seconds:.0f} s,"
          f" burst {settings.rate_limit_burst})")  # fmt: skip
    targets = [
        _target("impact pull, whole CLI process (s)", wall, "< 5", wall < 5),
        _target("impact requests within the rate limit", float(max(requests)), "<= limit", within),
    ]
    return {
        "actions": actions,
        "seconds": wall,
        "cpu_seconds": cpu,
        "requests": requests,
        "targets": targets,
    }


def _save(name: str, results: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = {"command": " ".join(sys.argv), "at": stamp, **results}
    path = OUT / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    (OUT / f"{name}-latest.json").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the chosen benchmarks, print and save their figures."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "what",
        choices=(
            "ingest",
            "memory",
            "reingest",
            "tally",
            "impact",
            "prefect",
            "accounts",
            "lake",
            "all",
        ),
    )
    parser.add_argument(
        "--accounts", default="10,100,1000", help="accounts: comma-separated account counts"
    )
    parser.add_argument(
        "--ledgers", default="file,ducklake", help="accounts: file and/or ducklake ledgers"
    )
    parser.add_argument("--lines", type=int, default=None, help="report or ledger lines")
    parser.add_argument("--actions", type=int, default=100_000, help="impact actions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--case",
        default=",".join(CASES),
        help="ingest and memory: comma-separated report shapes (repeats, distinct, real)",
    )
    parser.add_argument(
        "--sizes", default="1000000,10000000", help="memory: comma-separated line counts"
    )
    parser.add_argument(
        "--contenders", default=",".join(CONTENDERS), help="ingest: comma-separated subset"
    )
    args = parser.parse_args(argv)
    chosen = tuple(c for c in args.contenders.split(",") if c)
    if set(chosen) - set(CONTENDERS):
        parser.error(f"--contenders: choose from {', '.join(CONTENDERS)}")
    cases = tuple(c for c in args.case.split(",") if c)
    if not cases or set(cases) - set(CASES):
        parser.error(f"--case: choose from {', '.join(CASES)}")
    sizes = tuple(int(n) for n in args.sizes.split(",") if n)

    def ingest() -> dict[str, Any]:
        lines = args.lines or 1_000_000
        by_case = {c: bench_ingest(lines, args.seed, args.runs, chosen, c) for c in cases}
        return {"cases": by_case, "targets": [t for r in by_case.values() for t in r["targets"]]}

    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "ingest": ingest,
        "memory": lambda: bench_memory(cases, sizes, args.seed),
        "reingest": lambda: bench_reingest(args.lines or 1_000_000, args.seed, args.runs),
        "tally": lambda: bench_tally(args.lines or 10_000_000, args.seed, args.runs),
        "impact": lambda: bench_impact(args.actions, args.seed, args.runs),
        "prefect": lambda: bench_prefect(args.runs),
        "lake": lambda: bench_lake(args.lines or 100_000),
        "accounts": lambda: bench_accounts(
            tuple(int(n) for n in args.accounts.split(",") if n),
            tuple(k for k in args.ledgers.split(",") if k),
        ),
    }
    if args.what == "all":
        # The Prefect path's and the many accounts' figures take minutes: asked for by name.
        results = {
            name: step()
            for name, step in steps.items()
            if name not in ("prefect", "accounts", "lake")
        }
    else:
        results = {args.what: steps[args.what]()}
    path = _save(args.what, results)
    failed = [t["name"] for r in results.values() for t in r.get("targets", []) if not t["pass"]]
    print(f"\nresults: {path.relative_to(ROOT)}; {len(failed)} goal(s) FAIL")
    for name in failed:
        print(f"   FAIL {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
