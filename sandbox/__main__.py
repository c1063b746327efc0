"""`python -m sandbox`: serve the network sandbox in the foreground; print its PASSIVE_* env."""

from __future__ import annotations

import argparse
from datetime import date

import uvicorn

from sandbox.app import create_app
from sandbox.dataset import Dataset
from sandbox.networks import SandboxState
from sandbox.server import env


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, print the env lines, and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--impact-actions", type=int, default=3000)
    parser.add_argument("--awin-transactions", type=int, default=2000)
    parser.add_argument("--cj-commissions", type=int, default=2000)
    parser.add_argument("--start", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    args = parser.parse_args(argv)
    dataset = Dataset(
        args.seed,
        impact_actions=args.impact_actions,
        awin_transactions=args.awin_transactions,
        cj_commissions=args.cj_commissions,
        start=args.start,
        end=args.end,
    )
    dataset.warm()
    app = create_app(SandboxState(dataset))
    host = f"[{args.host}]" if ":" in args.host else args.host
    for key, value in env(f"http://{host}:{args.port}").items():
        print(f"{key}={value}")
    print(
        f"# sandbox seed={args.seed} data {dataset.start}..{dataset.end}; Ctrl+C to stop",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
