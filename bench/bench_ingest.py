"""Ingest: external attempts recorded per second through `POST /api/v1/attempts`, batches of 1,000.

Two clients post concurrently (an ERP's connector and a marketplace callback, say) to existing integrations,
a realistic mix of statuses and error messages. Baseline = bare batched inserts of as many attempt rows
(executemany, 1,000 per transaction) on a held DBAPI connection. Target: ≥ 40% of the baseline.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta
from typing import Any

from bench.bench_classify import messages
from bench.common import Context, bench_line, note, post_batches
from bench.generate import SKU_FLOWS, sku_code
from ponte.clock import now

BATCH = 1000
CLIENTS = 2


def batches(ctx: Context, total: int, seed: int = 5) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    mix = messages(500, seed=seed)
    codes = list(ctx.data.affiliates)
    when = now() - timedelta(minutes=1)
    items = []
    for n in range(total):
        failed = rng.random() < 0.3
        items.append({
            "flow": rng.choice(SKU_FLOWS), "affiliate": rng.choice(codes), "entity": sku_code(rng.randrange(ctx.data.skus)),
            "status": "error" if failed else "success", "message": rng.choice(mix)[2] if failed else "OK",
            "occurred_at": (when + timedelta(microseconds=n)).isoformat(), "http_status": 400 if failed else 200,
            "duration_ms": rng.randint(50, 800),
        })  # fmt: skip
    return [items[i : i + BATCH] for i in range(0, total, BATCH)]


def through_api(ctx: Context, work: list[list[dict[str, Any]]]) -> float:
    """Attempts/s recorded through the API by CLIENTS concurrent clients."""
    return post_batches(
        ctx,
        "/attempts",
        work,
        clients=CLIENTS,
        counted="recorded",
        wrap=lambda batch: {"attempts": batch},
        headers=lambda: {"Idempotency-Key": str(uuid.uuid4())},
    )


def bare_inserts(ctx: Context, total: int) -> float:
    """Rows/s of plain batched INSERTs of attempt rows (the same columns the API fills)."""
    raw = ctx.db.engine.raw_connection()
    driver: Any = raw.driver_connection
    mark = "%s" if ctx.kind == "postgres" else "?"
    sql = (
        "INSERT INTO attempts (account_id, integration_id, trigger, actor, system, status, message, code, category, "
        f"disposition, http_status, started_at, duration_ms) VALUES ({', '.join([mark] * 13)})"
    )
    when = now() - timedelta(minutes=1)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f") if ctx.kind == "sqlite" else when
    row = (ctx.data.account_id, 1, "external", "bench", "MLB · Mercado Livre", "error", "O EAN 789 é inválido",
           None, "invalid_gtin", "fix", 400, stamp, 120)  # fmt: skip
    started = time.perf_counter()
    for _ in range(0, total, BATCH):
        cursor = driver.cursor()
        if ctx.kind == "sqlite":
            cursor.execute("BEGIN")
        cursor.executemany(sql, [row] * BATCH)
        cursor.close()
        driver.commit() if ctx.kind == "postgres" else driver.execute("COMMIT")
    seconds = time.perf_counter() - started
    raw.close()
    return total / seconds


def run(ctx: Context) -> list[str]:
    total = ctx.sizes.ingest
    base = bare_inserts(ctx, total)
    value = through_api(ctx, batches(ctx, total))
    note(f"ingest: {value:.0f} attempts/s through the API with {CLIENTS} clients; bare inserts {base:.0f} rows/s")
    return [
        bench_line("ingest", ctx.kind, value=value, unit="attempts/s", baseline=base, target="ratio>=0.4",
                   ok=value >= 0.4 * base)
    ]  # fmt: skip
