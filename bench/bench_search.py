"""Search at full size: by id/SKU prefix and by words of the message, through the list API.

Baseline = the bare SQL of the same condition (first page of 50, newest first) on a held DBAPI connection.
Target: p95 ≤ 50 ms, like any page view.
"""

from __future__ import annotations

from bench.common import Context, Latencies, bench_line, note, raw_sql

BARE = (
    "SELECT i.id, i.entity, i.status, i.message, i.processed_at FROM integrations i "
    "WHERE i.account_id = ? AND {where} ORDER BY i.processed_at DESC, i.id LIMIT 51"
)


def _searches(ctx: Context) -> dict[str, tuple[dict[str, str], str, tuple[object, ...]]]:
    """name -> (API params, bare condition, bare params). Prefixes pick about ten SKUs; words a cause, a rare
    word, and one that no message holds."""
    prefix = ctx.data.sku(ctx.data.skus // 2)[:-1]
    return {
        "search_prefix": ({"search": prefix}, "i.entity LIKE ?", (prefix + "%",)),
        "search_words": (
            {"words": "estoque", "flow": "order"},
            "i.flow = 'order' AND lower(i.message) LIKE ?",
            ("%estoque%",),
        ),
        "search_rare_word": ({"words": "promotion"}, "lower(i.message) LIKE ?", ("%promotion%",)),
        # A word no message holds (a typo, a phrase from another store): the list order cannot stop early.
        "search_no_match": ({"words": "xyzzy"}, "lower(i.message) LIKE ?", ("%xyzzy%",)),
    }


def run(ctx: Context) -> list[str]:
    query, lines = raw_sql(ctx.db), []
    requests = max(10, ctx.sizes.requests // 5)
    with ctx.api() as client:
        for name, (params, where, bare_params) in _searches(ctx).items():
            api, bare = Latencies(), Latencies()
            sql, args = BARE.format(where=where), (ctx.data.account_id, *bare_params)
            client.get("/integrations", params=params).raise_for_status()
            for _ in range(requests):
                found = api.time(lambda p=params: client.get("/integrations", params=p)).json()  # type: ignore[misc]
                bare.time(lambda s=sql, a=args: query(s, a))  # type: ignore[misc]
            note(f"{name}: API p50 {api.p50:.2f} p95 {api.p95:.2f} ms ({len(found['items'])} rows shown); "
                 f"bare p95 {bare.p95:.2f} ms")  # fmt: skip
            lines.append(
                bench_line(
                    name, ctx.kind, value=api.p95, unit="ms", baseline=bare.p95, target="<=50ms", ok=api.p95 <= 50
                )
            )
    return lines
