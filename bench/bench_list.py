"""The Connections list page: 50 rows filtered by flow + status + affiliate, newest first, keyset pages.

Through the HTTP API (token auth, FastAPI, JSON) against the bare SQL query a DBA would write for the same page,
on the same connection kind, following the same cursors. Target: p95 ≤ 3 × the bare query and ≤ 50 ms.
"""

from __future__ import annotations

from typing import Any

import httpx

from bench.common import Context, Latencies, bench_line, note, raw_sql

PAGES = 10  # the first pages, then round again: operators read page 1 most, but deep pages cost the same
FILTER = {"flow": "product", "status": "error", "affiliate": "MLB", "limit": 50}
BARE = (
    "SELECT i.id, i.flow, i.entity, i.affiliate_id, a.code, a.name, a.kind, i.status, i.message, i.code, "
    "i.category, i.disposition, i.cause, i.processed_at, i.attempt_count, i.next_trigger, i.next_actor "
    "FROM integrations i JOIN affiliates a ON a.id = i.affiliate_id "
    "WHERE i.account_id = ? AND i.flow = ? AND i.affiliate_id = ? AND i.status = ? {after}"
    "ORDER BY i.processed_at DESC, i.id DESC LIMIT 51"
)
AFTER = "AND i.processed_at <= ? AND (i.processed_at < ? OR i.id < ?) "


def api_pages(client: httpx.Client, requests: int, params: dict[str, Any] | None = None) -> Latencies:
    """Latencies of `requests` list requests following next_cursor, from page 1 again every PAGES pages."""
    took, cursor = Latencies(), None
    for page in range(1, requests + 1):
        query = {**(params or FILTER), **({"cursor": cursor} if cursor else {})}
        answer = took.time(lambda q=query: client.get("/integrations", params=q))  # type: ignore[misc]
        answer.raise_for_status()
        body = answer.json()
        cursor = body["next_cursor"] if page % PAGES else None
    return took


def bare_pages(ctx: Context, requests: int) -> Latencies:
    """The same pages by the bare query, on one held DBAPI connection."""
    query = raw_sql(ctx.db)
    base = (ctx.data.account_id, "product", ctx.data.affiliates["MLB"], "error")
    took, last = Latencies(), None
    for page in range(1, requests + 1):
        if last is None:
            rows = took.time(lambda: query(BARE.format(after=""), base))
        else:
            params = (*base, last[13], last[13], last[0])
            rows = took.time(lambda p=params: query(BARE.format(after=AFTER), p))  # type: ignore[misc]
        last = rows[49] if len(rows) > 50 and page % PAGES else None
    return took


def run(ctx: Context) -> list[str]:
    with ctx.api() as client:
        api_pages(client, 20)  # warm the server, its pool and the caches
        bare_pages(ctx, 20)
        api = api_pages(client, ctx.sizes.requests)
    bare = bare_pages(ctx, ctx.sizes.requests)
    note(f"list page API p50 {api.p50:.2f} ms p95 {api.p95:.2f} ms; bare query p50 {bare.p50:.2f} p95 {bare.p95:.2f}")
    ok = api.p95 <= 3 * bare.p95 and api.p95 <= 50
    return [
        bench_line(
            "list_page_p95", ctx.kind, value=api.p95, unit="ms", baseline=bare.p95, target="ratio<=3,<=50ms", ok=ok
        ),
        bench_line(
            "list_page_p50", ctx.kind, value=api.p50, unit="ms", baseline=bare.p50, target="<=50ms", ok=api.p50 <= 50
        ),
    ]
