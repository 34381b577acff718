"""The command: `python -m bench.chaos [--quick] [--scenario NAME] [--db sqlite|postgres|both] [--soak-minutes N]`
(see the package docstring)."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import bench.chaos as chaos
from bench.chaos.check import Report
from bench.chaos.rig import Rig, database
from bench.chaos.scenarios import FAULTS, run_concurrency, run_dbrestart, run_fault, run_kill
from bench.chaos.soak import run_soak
from bench.common import allow_sandbox
from ponte.sandbox import SandboxServer

SCENARIOS = ("kill", "dbrestart", "faults", "concurrency", "soak")

# -- the command ---------------------------------------------------------------------------------------

SIZES = {  # quick / full
    "kill": (400, 1500),
    "dbrestart": (300, 1500),
    "concurrency": (1000, 33_334),  # three integrations a SKU: 100,002 in the full run
}


def scenario_runs(name: str, db: str, quick: bool, soak_minutes: float) -> list[Callable[[Rig], Report]]:
    size = SIZES.get(name, (0, 0))[0 if quick else 1]
    if name == "kill":
        return [lambda rig: run_kill(rig, db, skus=size)]
    if name == "faults":
        return [lambda rig, k=kind: run_fault(rig, db, k) for kind in FAULTS]  # type: ignore[misc]
    if name == "concurrency":
        return [lambda rig: run_concurrency(rig, db, skus=size, busy=15 if quick else 60)]
    if name == "dbrestart":
        return [lambda rig: run_dbrestart(rig, db, skus=size)]
    return [lambda rig: run_soak(rig, db, minutes=soak_minutes)]


def databases_for(name: str, choice: str) -> list[str]:
    kinds = ["sqlite", "postgres"] if choice == "both" else [choice]
    # Many workers at once and a database restart are the PostgreSQL path.
    return [k for k in kinds if k == "postgres"] if name in ("concurrency", "dbrestart") else kinds


def run_one(run: Callable[[Rig], Report], db: str) -> Report:
    with (
        tempfile.TemporaryDirectory(prefix="ponte-chaos-") as folder,
        database(db, Path(folder)) as settings,
        SandboxServer(seed=7, rate=100_000, burst=100_000) as sandbox,
    ):
        allow_sandbox(sandbox.url)
        rig = Rig(settings, sandbox, Path(folder))
        try:
            return run(rig)
        finally:
            rig.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=(chaos.__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a half-minute soak")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="run only these (repeatable)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--soak-minutes", type=float, default=None, help="soak length [10; 0.5 with --quick]")
    args = parser.parse_args(argv)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # the sandbox writing to clients that hung up
    soak = args.soak_minutes if args.soak_minutes is not None else (0.5 if args.quick else 10.0)
    failed = 0
    for name in args.scenario or SCENARIOS:
        for db in databases_for(name, args.db):
            for run in scenario_runs(name, db, args.quick, soak):
                report = run_one(run, db)
                print(report.line(), flush=True)
                for problem in report.problems:
                    print(f"  {problem}", flush=True)
                failed += not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
