"""Status counters stay exact through every kind of change, on both databases."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import func, literal_column, select, text

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.engine.queue import reprocess_integrations
from ponte.store.counters import FOLD_LOCK, fold_status_deltas, read_status_counts
from ponte.store.filters import IntegrationFilter
from ponte.store.queue import claim_due, finish, mark_changed
from ponte.store.tables import integrations, status_count_deltas


def _truth(conn, account_id):
    rows = conn.execute(
        select(integrations.c.flow, integrations.c.affiliate_id, integrations.c.status, func.count())
        .where(integrations.c.account_id == account_id)
        .group_by(integrations.c.flow, integrations.c.affiliate_id, integrations.c.status)
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def test_counts_follow_inserts_claims_results_and_bulk_reprocess(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        other = get_or_create_account(conn, slug="loja-b")
        ids = [
            add_affiliate(conn, acc, code, code) for acc, code in ((account, "MLB"), (account, "AMZ"), (other, "MLB"))
        ]
        for affiliate_id in ids[:2]:
            mark_changed(conn, account_id=account, flow="price", keys=[(affiliate_id, f"S{n}") for n in range(30)])
        mark_changed(conn, account_id=other, flow="price", keys=[(ids[2], "S1")])
        mark_changed(conn, account_id=account, flow="price", keys=[(ids[0], "S1")])  # a change of a pending row
    with db.write() as conn:
        claims = claim_due(conn, owner="w", limit=45, lease_seconds=60)
        for n, claim in enumerate(claims):
            status = ("success", "error", "warning")[n % 3]
            finish(conn, claim=claim, owner="w", state={"status": status, "due_at": None, "retry_count": 0})
    with db.write() as conn:
        reprocess_integrations(conn, account_id=account, actor="ana", filter=IntegrationFilter(statuses=("error",)))
        fold_status_deltas(conn)
        assert read_status_counts(conn, account_id=account) == _truth(conn, account)
        assert read_status_counts(conn, account_id=other) == _truth(conn, other)
        statuses = Counter()
        for (_flow, _aff, status), n in read_status_counts(conn, account_id=account).items():
            statuses[status] += n
    assert statuses == Counter({"pending": 15 + 15, "success": 15, "warning": 15})


def test_counts_read_before_folding_include_the_pending_deltas(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
        mark_changed(conn, account_id=account, flow="inventory", keys=[(affiliate_id, f"S{n}") for n in range(7)])
    with db.read() as conn:
        assert read_status_counts(conn, account_id=account, flow="inventory") == {
            ("inventory", affiliate_id, "pending"): 7
        }


def test_folding_never_waits_for_another_folder(db):
    """The worker folds in its loop: a transaction holding the fold lock (any schema of the database shares it)
    must not stop the worker. The fold is skipped, the counts stay exact, and the next fold does the work."""
    if db.dialect != "postgresql":
        pytest.skip("folding is PostgreSQL's (SQLite counts have no deltas)")
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
        mark_changed(conn, account_id=account, flow="price", keys=[(affiliate_id, f"S{n}") for n in range(5)])
    with db.write() as holder:
        holder.execute(select(func.pg_advisory_xact_lock(literal_column(str(FOLD_LOCK)))))
        with db.write() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '3s'"))  # a fold that waits fails here instead of hanging
            started = time.monotonic()
            assert fold_status_deltas(conn) == 0
            assert time.monotonic() - started < 1
            assert conn.execute(select(func.count()).select_from(status_count_deltas)).scalar_one() > 0
            assert read_status_counts(conn, account_id=account) == {("price", affiliate_id, "pending"): 5}
    with db.write() as conn:
        assert fold_status_deltas(conn) > 0
        assert conn.execute(select(func.count()).select_from(status_count_deltas)).scalar_one() == 0
        assert read_status_counts(conn, account_id=account) == {("price", affiliate_id, "pending"): 5}


def test_causes_from_the_kept_counts_equal_grouping_the_rows(db):
    from datetime import UTC, datetime

    from ponte.services.connections import list_causes

    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        ids = [add_affiliate(conn, account, code, code) for code in ("MLB", "AMZ")]
        for flow in ("product", "price"):
            mark_changed(conn, account_id=account, flow=flow, keys=[(a, f"S{n}") for a in ids for n in range(12)])
    causes = [("invalid_gtin", "sem gtin"), ("missing_attribute", "atributo <n> ausente"), (None, "algo estranho")]
    with db.write() as conn:
        for n, claim in enumerate(claim_due(conn, owner="w", limit=100, lease_seconds=60)):
            category, cause = causes[n % 3]
            status = "success" if n % 5 == 0 else "error"
            finish(
                conn,
                claim=claim,
                owner="w",
                state={
                    "status": status,
                    "due_at": None,
                    "retry_count": 0,
                    "category": category,
                    "cause": cause,
                    "message": f"{cause} ({n})",  # each its own, so the newest example can be told apart
                    "processed_at": now(),
                },
            )
    with db.write() as conn:  # some errors are fixed and reprocessed: they leave their cause
        reprocess_integrations(
            conn, account_id=account, actor="ana", filter=IntegrationFilter(categories=("invalid_gtin",), flow="price")
        )
        fold_status_deltas(conn)

    def shape(found):
        return sorted((c.category or "", c.cause, c.count, tuple(c.affiliates), tuple(c.flows)) for c in found)

    forced_slow = IntegrationFilter(date_from=datetime(2000, 1, 1, tzinfo=UTC))
    with db.read() as conn:
        fast = list_causes(conn, account_id=account, filter=IntegrationFilter())
        slow = list_causes(conn, account_id=account, filter=forced_slow)
        by_flow = list_causes(conn, account_id=account, filter=IntegrationFilter(flow="price", affiliates=("AMZ",)))
        slow_by_flow = list_causes(conn, account_id=account, filter=replace_filter(forced_slow, "price", ("AMZ",)))
    assert shape(fast) == shape(slow) and len(fast) == 3
    assert shape(by_flow) == shape(slow_by_flow)
    # Each cause shows its newest error under the filter, the group without a category too.
    assert examples(fast) == newest_errors(db, account)
    assert any(category is None for category, _ in examples(fast))
    amz = ids[1]
    assert examples(by_flow) == newest_errors(db, account, lambda r: r.flow == "price" and r.affiliate_id == amz)
    assert examples(by_flow) != examples(fast)


def examples(causes):
    return {(c.category, c.cause): (c.sample_message, c.last_at) for c in causes}


def newest_errors(db, account, keep=lambda row: True):
    i = integrations.c
    query = select(i.category, i.cause, i.message, i.processed_at, i.flow, i.affiliate_id).where(
        i.account_id == account, i.status == "error"
    )
    newest = {}
    with db.read() as conn:
        for r in conn.execute(query.order_by(i.processed_at)):
            if keep(r):
                newest[(r.category, r.cause)] = (r.message, r.processed_at)
    return newest


def replace_filter(filt, flow, codes):
    from dataclasses import replace

    return replace(filt, flow=flow, affiliates=codes)
