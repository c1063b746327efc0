"""`python -m bench accounts --accounts N`: N small sandbox accounts pulled by 4 worker
processes (`passive pull --all` over a quarter of passive.toml each) into one ledger."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import OUT

PASSIVE = str(Path(sys.executable).parent / "passive")
NETWORKS = ("impact", "awin", "cj")
WORKERS = 4


def write_configs(folder: Path, accounts: int, workers: int) -> tuple[list[Path], dict[str, str]]:
    """`workers` passive.toml files sharing `accounts` sandbox accounts round-robin over the
    three API networks, and the variables holding their credentials.

    impact.com account k has its own SID and token; Awin and CJ account k is publisher id
    base + k under the network's one user token (the default account's, PASSIVE_AWIN_TOKEN)."""
    from sandbox.networks import sandbox_account

    tables: list[list[str]] = [[] for _ in range(workers)]
    env: dict[str, str] = {}
    for index in range(accounts):
        network = NETWORKS[index % len(NETWORKS)]
        number = index // len(NETWORKS) + 1
        name = f"{network}-{number}"
        account = sandbox_account(network, number)
        lines = [f"[accounts.{name}]", f'network = "{network}"']
        if network == "impact":
            prefix = f"PASSIVE_{name.upper().replace('-', '_')}_"
            env[f"{prefix}ACCOUNT_SID"] = account.login
            env[f"{prefix}AUTH_TOKEN"] = account.token
        else:
            lines += [f'publisher_id = "{account.login}"', f'login = "{network}"']
        tables[index % workers].append("\n".join(lines))
    paths = []
    for worker, blocks in enumerate(tables):
        path = folder / f"passive-{worker + 1}.toml"
        path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
        paths.append(path)
    return paths, env


def pull_all(
    accounts: int, db: str, folder: Path, env: dict[str, str], since: str, workers: int
) -> dict[str, Any]:
    """Start the workers at once; wait for all; the wall time is the slowest one's."""
    configs, account_env = write_configs(folder, accounts, workers)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [PASSIVE, "pull", "--all", "--config", str(config), "--db", db, "--since", since],
            env={**env, **account_env},
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in configs
        if config.read_text(encoding="utf-8").strip()
    ]
    outputs = [p.communicate() for p in processes]
    seconds = time.perf_counter() - started
    codes = [p.returncode for p in processes]
    # A worker whose accounts partly failed exits 2 after pulling the others: counted, and
    # its failed lines kept for the report, rather than the whole measurement thrown away.
    failed = [
        line
        for (stdout, stderr) in outputs
        for line in (stdout + stderr).splitlines()
        if ": failed: " in line and not line.startswith("failed ")
    ]
    return {"seconds": seconds, "workers": len(processes), "codes": codes, "failed": failed}


def ledger_accounts(db: str) -> int:
    """How many accounts hold lines in the ledger."""
    from warehouse.connection import ledger

    with ledger(db, read_only=True) as con:
        row = con.execute("SELECT count(DISTINCT account) FROM commissions").fetchone()
    return int(row[0]) if row else 0


def bench_accounts(sizes: tuple[int, ...], ledgers: tuple[str, ...]) -> dict[str, Any]:
    """Accounts per minute at each size and ledger kind, and each size's per-account time
    as a ratio to the smallest size's (1.0: linear)."""
    import os
    import shutil

    from sandbox.dataset import Dataset
    from sandbox.server import run_sandbox

    largest = max(sizes)
    per_network = math.ceil(largest / len(NETWORKS))
    print(f"\n== pull many small sandbox accounts, {WORKERS} worker processes, ledgers: "
          f"{', '.join(ledgers)}")  # fmt: skip
    rows: list[dict[str, Any]] = []
    with run_sandbox(Dataset(3, impact_actions=300, awin_transactions=200, cj_commissions=200),
                     accounts=per_network) as sandbox:  # fmt: skip
        env = {
            **os.environ,
            **sandbox.env(),
            "PREFECT_API_URL": "",  # in-process workers: no Prefect server
            "PASSIVE_CONFIG": "",
        }
        # The sandbox keeps no quota; a real one is paced per login (see the ceiling below).
        for network in NETWORKS:
            env[f"PASSIVE_{network.upper()}_RATE_LIMIT_REQUESTS"] = "1000000"
        since = sandbox.dataset.start.isoformat()
        for kind in ledgers:
            for size in sizes:
                folder = OUT / "runs" / f"accounts-{kind}-{size}"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                db = (
                    str(folder / "ledger.duckdb")
                    if kind == "file"
                    else f"ducklake:sqlite:{folder / 'catalog.sqlite'}"
                )
                sandbox.clear_requests()
                result = pull_all(size, db, folder, env, since, WORKERS)
                held = ledger_accounts(db)
                if held + len(result["failed"]) != size:
                    # Said, not raised: a ledger holding lines of an account its pull called
                    # failed is a finding to report, not a reason to lose the figures.
                    print(f"   WARNING: {kind} ledger holds {held} accounts and "
                          f"{len(result['failed'])} failed, of {size}")  # fmt: skip
                requests = len(sandbox.requests())
                # Requests one account of each network costs (its lines and its payments).
                each = {
                    n: len(sandbox.requests(n)) / max(1, len(range(NETWORKS.index(n), size, 3)))
                    for n in NETWORKS
                }
                per_minute = size / result["seconds"] * 60
                rows.append(
                    {"ledger": kind, "accounts": size, "seconds": result["seconds"],
                     "per_minute": per_minute, "requests": requests, "pulled": held,
                     "requests_per_account": each,
                     "failed": result["failed"]}
                )  # fmt: skip
                print(f"   {kind:8} {size:5} accounts {result['seconds']:8.1f} s "
                      f"{per_minute:8.1f} accounts/min, {requests} requests "
                      f"({requests / size:.1f} per account), {held} in the ledger, "
                      f"{len(result['failed'])} failed")  # fmt: skip
                for line in result["failed"][:3]:
                    print(f"      {line[:300]}")
    for kind in ledgers:
        mine = [r for r in rows if r["ledger"] == kind]
        base = mine[0]["seconds"] / mine[0]["accounts"]
        for row in mine:
            row["per_account_ratio"] = (row["seconds"] / row["accounts"]) / base
        print(
            f"   {kind}: seconds per account as a ratio to {mine[0]['accounts']} accounts': "
            + ", ".join(f"{r['accounts']}: {r['per_account_ratio']:.2f}" for r in mine)
        )
    # What the networks' real quotas allow one login, from what one account costs:
    # impact.com 1,000 requests an hour per Account SID, Awin 20 a minute per user.
    each = rows[-1]["requests_per_account"]
    ceiling = {
        "awin_accounts_per_minute_per_user": 20 / each["awin"],
        "impact_accounts_per_hour_per_sid": 1000 / each["impact"],
    }
    print(f"   quotas: an Awin account costs {each['awin']:.1f} requests, so one Awin user's "
          f"accounts pull at most {ceiling['awin_accounts_per_minute_per_user']:.1f} a minute; "
          f"an impact.com account {each['impact']:.1f}, "
          f"{ceiling['impact_accounts_per_hour_per_sid']:.0f} an hour per SID")  # fmt: skip
    return {"rows": rows, "ceiling": ceiling, "targets": []}
