"""Retention: attempts older than the configured age are pruned; on PostgreSQL whole monthly partitions go.

Runs last (it deletes history). The cutoff keeps the newest HISTORY_DAYS of the generated data, so the older
history added by the growth benchmark goes. Baseline = a bare `DELETE … WHERE started_at < cutoff` of the same
rows, timed in a transaction that is rolled back. Target: ≤ 1.5 × the bare delete (SQLite deletes in batches, a
transaction each, to keep write locks short).
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from bench.common import Context, bench_line, note
from bench.generate import HISTORY_DAYS
from ponte.store.partitions import prune_attempts


def run(ctx: Context) -> list[str]:
    cutoff = ctx.data.started - timedelta(days=HISTORY_DAYS + 1)
    with ctx.db.engine.connect() as conn:
        transaction = conn.begin()
        started = time.perf_counter()
        conn.execute(text("DELETE FROM attempt_bodies WHERE started_at < :t"), {"t": cutoff})
        bare_rows = conn.execute(text("DELETE FROM attempts WHERE started_at < :t"), {"t": cutoff}).rowcount
        bare = time.perf_counter() - started
        transaction.rollback()
    started = time.perf_counter()
    removed = prune_attempts(ctx.db, older_than=cutoff)
    seconds = time.perf_counter() - started
    note(f"retention removed {removed:,} attempts older than {cutoff:%Y-%m-%d} in {seconds:.2f} s "
         f"(bare DELETE of {bare_rows:,}: {bare:.2f} s)")  # fmt: skip
    return [
        bench_line("retention_prune", ctx.kind, value=seconds, unit="s", baseline=bare, target="ratio<=1.5",
                   ok=seconds <= 1.5 * bare)
    ]  # fmt: skip
