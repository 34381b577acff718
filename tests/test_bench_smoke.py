"""The benchmarks at a tiny size, so that they cannot rot: each runs and ends with a well-formed BENCH line.

Speed is not checked here (that is what `make bench` is for); the generator's data must be consistent.
SQLite only: the PostgreSQL benchmarks use the server named by PONTE_BENCH_POSTGRES_URL, which the suite does not assume.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ lives beside src/, not in the package
from bench import bench_classify, bench_contract
from bench.__main__ import PER_DATABASE
from bench.common import TINY, Context, bench_database, bench_line
from bench.generate import check, generate, grow_attempts

from ponte.store.db import Database

LINE = re.compile(
    r"^BENCH [a-z0-9_]+ (sqlite|postgres|-) value=[0-9.]+ unit=\S+ baseline=[0-9.]+ ratio=[0-9.]+ "
    r"target=\S+ (ok|MISS)$"
)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    folder = Path(tmp_path_factory.mktemp("bench"))
    with bench_database("sqlite", folder) as settings:
        db = Database(settings)
        data = generate(db, skus=TINY.skus, attempts_total=TINY.attempts // 10)
        context = Context("sqlite", settings, db, data, TINY, folder, quick=True)
        yield context
        context.close()
        db.dispose()


def test_it_prints_the_bench_line_scripts_read() -> None:
    line = bench_line("x", "sqlite", value=12.5, unit="ms", baseline=5, target="<=50ms", ok=True)
    assert line == "BENCH x sqlite value=12.5 unit=ms baseline=5.000 ratio=2.500 target=<=50ms ok"


def test_it_generates_consistent_data(ctx: Context) -> None:
    assert ctx.data.integrations == TINY.integrations
    assert check(ctx.db, ctx.data) == []
    grow_attempts(ctx.db, ctx.data, to=ctx.data.attempts + 500)
    assert check(ctx.db, ctx.data) == []


@pytest.mark.parametrize("name", PER_DATABASE)
def test_it_runs_each_benchmark(ctx: Context, name: str) -> None:
    module = __import__(f"bench.bench_{name}", fromlist=["run"])
    lines = module.run(ctx)
    assert lines and all(LINE.match(line) for line in lines), lines


def test_it_runs_the_classifier_benchmark() -> None:
    assert all(LINE.match(line) for line in bench_classify.run(quick=True))


def test_it_runs_the_contract_benchmark() -> None:
    lines = bench_contract.run(quick=True)
    assert lines and all(LINE.match(line) for line in lines), lines


def test_the_propagation_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    from bench.bench_propagation import propagate_mercadolivre

    with bench_database("sqlite", tmp_path) as settings:
        line = propagate_mercadolivre(settings, tmp_path, count=60, rate=20.0)
    assert LINE.match(line), line


def test_the_mirakl_propagation_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    """A real minute: wave B waits for the emulation's next OF24 (once a minute), as the benchmark measures."""
    from bench.propagation_mirakl import propagation

    with bench_database("sqlite", tmp_path) as settings:
        lines = propagation("sqlite", settings, tmp_path, count=20)
    assert len(lines) == 1 and LINE.match(lines[0]), lines
    assert lines[0].startswith("BENCH propagation_mirakl sqlite "), lines


def test_the_reconcile_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    from bench.bench_reconcile import reconcile

    with bench_database("sqlite", tmp_path) as settings:
        lines = reconcile("sqlite", settings, tmp_path, count=300)
    assert len(lines) == 2 and all(LINE.match(line) for line in lines), lines
