"""Tab counts per status and the causes view, through the API, at full size.

Counts come from the kept counters, so the baseline is what they avoid: the bare GROUP BY over the rows.
Causes group the failing rows by (category, normalised message); baseline = the bare GROUP BY of the same rows.
Target for both: ≤ 50 ms (p95).
"""

from __future__ import annotations

from bench.common import Context, Latencies, bench_line, note, raw_sql

COUNT_ROWS = (
    "SELECT status, count(*) FROM integrations WHERE account_id = ? AND flow = ? AND affiliate_id = ? GROUP BY status"
)
CAUSE_ROWS = (
    "SELECT category, coalesce(cause, message), count(*) FROM integrations "
    "WHERE account_id = ? AND status = 'error' GROUP BY 1, 2"
)


def _api(ctx: Context, path: str, params: dict[str, str], requests: int) -> Latencies:
    took = Latencies()
    with ctx.api() as client:
        for _ in range(3):
            client.get(path, params=params).raise_for_status()
        for _ in range(requests):
            took.time(lambda: client.get(path, params=params).raise_for_status())
    return took


def _bare(ctx: Context, sql: str, params: tuple[object, ...], requests: int) -> Latencies:
    query, took = raw_sql(ctx.db), Latencies()
    query(sql, params)
    for _ in range(requests):
        took.time(lambda: query(sql, params))
    return took


def run(ctx: Context) -> list[str]:
    requests = max(10, ctx.sizes.requests // 4)
    account, mlb = ctx.data.account_id, ctx.data.affiliates["MLB"]
    counts = _api(ctx, "/integrations/counts", {"flow": "product", "affiliate": "MLB"}, requests)
    counted = _bare(ctx, COUNT_ROWS, (account, "product", mlb), requests)
    causes = _api(ctx, "/integrations/causes", {}, requests)
    grouped = _bare(ctx, CAUSE_ROWS, (account,), requests)
    note(f"counts p95 {counts.p95:.2f} ms (counting rows: {counted.p95:.2f}); causes p95 {causes.p95:.2f} ms "
         f"(bare group by: {grouped.p95:.2f}) over {ctx.data.errors} errors")  # fmt: skip
    return [
        bench_line(
            "tab_counts_p95", ctx.kind, value=counts.p95, unit="ms", baseline=counted.p95, target="<=50ms",
            ok=counts.p95 <= 50,
        ),
        bench_line(
            "causes_p95", ctx.kind, value=causes.p95, unit="ms", baseline=grouped.p95, target="<=50ms",
            ok=causes.p95 <= 50,
        ),
    ]  # fmt: skip
