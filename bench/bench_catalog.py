"""Price changes: prices set per second through `POST /api/v1/prices/bulk`, 1,000 a request, two clients.

An ERP pushes a big seller's prices many times a day; each change is stored and queues the SKU's price send
for every marketplace (five here), so it does more than the baseline: bare batched UPDATEs of as many
prices by SKU code (executemany, 1,000 per transaction). The issue names no target for it; ≥ 1,000 prices/s
is what a full refresh of a million prices in under 17 minutes takes.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from bench.common import Context, bench_line, note, post_batches
from bench.generate import sku_code
from ponte.clock import now

BATCH = 1000
CLIENTS = 2
TARGET = 1000.0


def batches(ctx: Context, total: int, seed: int = 11) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    items = []
    for _ in range(total):
        list_price = rng.randrange(1000, 100_000)
        items.append({
            "sku": sku_code(rng.randrange(ctx.data.skus)), "list_price": f"{list_price / 100:.2f}",
            "price": f"{rng.randrange(500, list_price) / 100:.2f}",
        })  # fmt: skip
    return [items[i : i + BATCH] for i in range(0, total, BATCH)]


def through_api(ctx: Context, work: list[list[dict[str, Any]]]) -> float:
    """Prices/s set through the API by CLIENTS concurrent clients."""
    return post_batches(ctx, "/prices/bulk", work, clients=CLIENTS, counted="accepted")


def bare_updates(ctx: Context, work: list[list[dict[str, Any]]]) -> float:
    """Rows/s of plain batched UPDATEs of the same prices by SKU code (the API run then sets them again)."""
    raw = ctx.db.engine.raw_connection()
    driver: Any = raw.driver_connection
    mark = "%s" if ctx.kind == "postgres" else "?"
    sql = f"UPDATE skus SET list_price = {mark}, price = {mark}, updated_at = {mark} WHERE account_id = {mark} AND sku = {mark}"
    when = now()
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f") if ctx.kind == "sqlite" else when
    rows = [
        [(Decimal(i["list_price"]), Decimal(i["price"]), stamp, ctx.data.account_id, i["sku"]) for i in batch]
        for batch in work
    ]
    if ctx.kind == "sqlite":  # sqlite3 takes no Decimal
        rows = [[(str(a), str(b), c, d, e) for a, b, c, d, e in batch] for batch in rows]
    started = time.perf_counter()
    for batch in rows:
        cursor = driver.cursor()
        if ctx.kind == "sqlite":
            cursor.execute("BEGIN")
        cursor.executemany(sql, batch)
        cursor.close()
        driver.commit() if ctx.kind == "postgres" else driver.execute("COMMIT")
    seconds = time.perf_counter() - started
    raw.close()
    return sum(len(batch) for batch in rows) / seconds


def run(ctx: Context) -> list[str]:
    work = batches(ctx, ctx.sizes.ingest)
    base = bare_updates(ctx, work)
    value = through_api(ctx, work)
    note(f"prices: {value:.0f}/s through the API with {CLIENTS} clients (each queued for "
         f"{len(ctx.data.affiliates)} marketplaces); bare updates {base:.0f} rows/s")  # fmt: skip
    return [
        bench_line("prices_bulk", ctx.kind, value=value, unit="prices/s", baseline=base, target=f">={TARGET:.0f}/s",
                   ok=value >= TARGET)
    ]  # fmt: skip
