"""Ponte's benchmarks at marketplace scale, on SQLite and PostgreSQL.

    .venv/bin/python -m bench [--quick] [--only NAME[,NAME]] [--db sqlite|postgres|both]

Per database, the data is generated once (a tenth of the attempts first, grown to full size by the growth
benchmark) and every benchmark runs on it; each ends with one `BENCH …` line, and all of them are repeated at
the end. Environment: PONTE_BENCH_DIR (where the SQLite file goes), PONTE_BENCH_POSTGRES_URL (the server; the
schema `ponte_bench` is made and dropped).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench.common import FULL, QUICK, Context, Sizes, bench_database, note, scratch_folder, stopwatch
from bench.generate import check, generate
from ponte.store.db import Database

# In run order: growth first (it grows the log to full size), retention last (it deletes the oldest history).
# catalog after dispatch: the price sends it queues would otherwise be in the workers' way.
PER_DATABASE = (
    "growth", "list", "counts", "search", "reprocess", "export", "ingest", "dispatch", "catalog", "retention",
)  # fmt: skip
ONCE = ("classify", "contract", "propagation", "reconcile", "bling_import")
NAMES = (*PER_DATABASE, *ONCE)


def run_database(kind: str, sizes: Sizes, names: list[str], quick: bool, folder: Path) -> list[str]:
    """Generate one database's data and run the chosen benchmarks on it; returns their BENCH lines."""
    lines: list[str] = []
    print(f"\n== {kind}: {sizes.integrations:,} integrations, {sizes.attempts:,} attempts ==", flush=True)
    with bench_database(kind, folder) as settings:
        db = Database(settings)
        first = sizes.attempts // 10 if "growth" in names else sizes.attempts
        seconds, data = stopwatch(lambda: generate(db, skus=sizes.skus, attempts_total=first))
        note(f"generated {data.integrations:,} integrations, {data.attempts:,} attempts in {seconds:.0f} s")
        problems = check(db, data)
        if problems:
            raise RuntimeError("generated data is inconsistent: " + "; ".join(problems))
        ctx = Context(kind, settings, db, data, sizes, folder, quick)
        try:
            for name in names:
                lines += run_one(name, kind, lambda name=name: _module(name).run(ctx))  # type: ignore[misc]
        finally:
            ctx.close()
            db.dispose()
    return lines


def run_one(name: str, kind: str, function: object) -> list[str]:
    print(f"-- {name} ({kind})", flush=True)
    started = time.monotonic()
    try:
        lines = list(function())  # type: ignore[operator]
    except Exception:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        line = f"BENCH {name} {kind} ERROR"
        print(line, flush=True)
        return [line]
    note(f"{name} took {time.monotonic() - started:.0f} s")
    return lines


def _printed(lines: list[str]) -> list[str]:
    print("\n".join(lines), flush=True)  # bench_classify and bench_contract return their line without printing it
    return lines


def _module(name: str) -> object:
    return importlib.import_module(f"bench.bench_{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ponte benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes on two cores")
    parser.add_argument("--only", help=f"comma-separated benchmarks among {', '.join(NAMES)}")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(NAMES)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose among {', '.join(NAMES)}")
    sizes = QUICK if args.quick else FULL
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    lines: list[str] = []
    for name in [n for n in names if n in ONCE]:
        lines += run_one(name, "-", lambda name=name: _printed(_module(name).run(args.quick)))  # type: ignore[misc]
    per_db = [n for n in PER_DATABASE if n in names]
    for kind in kinds if per_db else ():
        with scratch_folder() as folder:
            lines += run_database(kind, sizes, per_db, args.quick, Path(folder))
    print("\n== summary ==\n" + "\n".join(lines), flush=True)
    return 1 if any(line.endswith("ERROR") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
