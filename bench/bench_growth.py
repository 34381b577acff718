"""Growth: the list page and an expanded row stay as fast when the attempt log grows tenfold.

The run starts with a tenth of the attempts; this benchmark measures, grows the log to its full size (older
history for the same integrations) and measures again. Baseline = the same figure before the growth.
"""

from __future__ import annotations

import httpx

from bench.bench_list import api_pages
from bench.common import Context, Latencies, bench_line, note, stopwatch
from bench.generate import grow_attempts


def expand_rows(client: httpx.Client, ids: list[int], requests: int) -> Latencies:
    """Latencies of opening one integration with its newest attempts (what expanding a row shows)."""
    took = Latencies()
    for n in range(requests):
        integration_id = ids[n % len(ids)]
        took.time(lambda i=integration_id: client.get(f"/integrations/{i}", params={"attempts": 20}))  # type: ignore[misc]
    return took


def _measure(ctx: Context) -> tuple[Latencies, Latencies]:
    with ctx.api() as client:
        page = client.get("/integrations", params={"flow": "price", "status": "error", "limit": 50}).json()
        ids = [row["id"] for row in page["items"]] or [1]
        api_pages(client, 20)
        expand_rows(client, ids, 20)
        return api_pages(client, ctx.sizes.requests), expand_rows(client, ids, ctx.sizes.requests)


def run(ctx: Context) -> list[str]:
    before_list, before_expand = _measure(ctx)
    attempts_before = ctx.data.attempts
    seconds, added = stopwatch(lambda: grow_attempts(ctx.db, ctx.data, to=ctx.sizes.attempts))
    note(f"attempts grown from {attempts_before} to {ctx.data.attempts} ({added} added in {seconds:.0f} s)")
    after_list, after_expand = _measure(ctx)
    note(f"list p95 {before_list.p95:.2f} -> {after_list.p95:.2f} ms; expand p95 {before_expand.p95:.2f} -> "
         f"{after_expand.p95:.2f} ms")  # fmt: skip
    grown = max(1, ctx.data.attempts // max(1, attempts_before))
    return [
        bench_line(
            f"growth_list_p95_x{grown}", ctx.kind, value=after_list.p95, unit="ms", baseline=before_list.p95,
            target="ratio<=1.5|p95<=5ms", ok=after_list.p95 <= 1.5 * before_list.p95 or after_list.p95 <= 5,
        ),
        bench_line(
            f"growth_expand_p95_x{grown}", ctx.kind, value=after_expand.p95, unit="ms", baseline=before_expand.p95,
            target="ratio<=1.5|p95<=5ms", ok=after_expand.p95 <= 1.5 * before_expand.p95 or after_expand.p95 <= 5,
        ),
    ]  # fmt: skip
