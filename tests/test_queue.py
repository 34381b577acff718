"""The integrations table as a queue: coalescing, leases, reprocess, retry schedule."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from factories import add_affiliate, run_together
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.domain import Disposition, Status
from ponte.engine.queue import reprocess_integrations
from ponte.engine.retry import next_step
from ponte.store.filters import IntegrationFilter
from ponte.store.queue import claim_due, count_reprocessable, finish, mark_changed
from ponte.store.tables import audit_log, integrations


def _store(conn):
    account_id = get_or_create_account(conn, slug="loja-a")
    affiliate_id = add_affiliate(conn, account_id, "MLB", "Mercado Livre")
    return account_id, affiliate_id


def _done(claim, status=Status.ERROR):
    return {"status": status.value, "due_at": None, "retry_count": 0, "message": "x", "processed_at": now()}


def test_it_coalesces_ten_changes_into_one_pending_row(db):
    with db.write() as conn:
        account_id, affiliate_id = _store(conn)
        for _ in range(10):
            mark_changed(conn, account_id=account_id, flow="inventory", keys=[(affiliate_id, "SKU-1")])
    with db.write() as conn:
        claims = claim_due(conn, owner="w1", limit=50, lease_seconds=60)
    assert [(c.entity, c.seq) for c in claims] == [("SKU-1", 10)]


def test_it_never_hands_a_leased_row_to_a_second_worker(db):
    with db.write() as conn:
        account_id, affiliate_id = _store(conn)
        mark_changed(conn, account_id=account_id, flow="price", keys=[(affiliate_id, "SKU-1")])
    with db.write() as conn:
        first = claim_due(conn, owner="w1", limit=50, lease_seconds=60)
    with db.write() as conn:
        second = claim_due(conn, owner="w2", limit=50, lease_seconds=60)
    assert len(first) == 1 and second == []


def test_it_gives_the_work_of_a_dead_worker_to_another_once_the_lease_expires(db):
    with db.write() as conn:
        account_id, affiliate_id = _store(conn)
        mark_changed(conn, account_id=account_id, flow="price", keys=[(affiliate_id, "SKU-1")])
    with db.write() as conn:
        claim_due(conn, owner="dead", limit=50, lease_seconds=30)
    later = now() + timedelta(seconds=31)
    with db.write() as conn:
        taken = claim_due(conn, owner="alive", limit=50, lease_seconds=30, now=later)
    assert len(taken) == 1
    with db.write() as conn:  # the dead worker coming back cannot overwrite the new owner's work
        assert finish(conn, claim=taken[0], owner="dead", state=_done(taken[0])) is False
        assert finish(conn, claim=taken[0], owner="alive", state=_done(taken[0])) is True


def test_it_keeps_a_row_pending_when_a_change_lands_while_it_runs(db):
    with db.write() as conn:
        account_id, affiliate_id = _store(conn)
        mark_changed(conn, account_id=account_id, flow="inventory", keys=[(affiliate_id, "SKU-1")])
    with db.write() as conn:
        (claim,) = claim_due(conn, owner="w1", limit=50, lease_seconds=60)
    with db.write() as conn:
        mark_changed(conn, account_id=account_id, flow="inventory", keys=[(affiliate_id, "SKU-1")])
    with db.write() as conn:
        finish(conn, claim=claim, owner="w1", state=_done(claim, Status.SUCCESS))
    with db.read() as conn:
        row = conn.execute(select(integrations)).one()
    assert row.status == "pending" and row.lease_owner is None and row.attempt_count == 1


def test_a_second_reprocess_while_one_is_pending_changes_nothing(db):
    with db.write() as conn:
        account_id, affiliate_id = _store(conn)
        mark_changed(
            conn, account_id=account_id, flow="product", keys=[(affiliate_id, "SKU-1"), (affiliate_id, "SKU-2")]
        )
        (c1, c2) = claim_due(conn, owner="w1", limit=50, lease_seconds=60)
        finish(conn, claim=c1, owner="w1", state=_done(c1))
        finish(conn, claim=c2, owner="w1", state=_done(c2))
    errors = IntegrationFilter(statuses=("error",))
    with db.write() as conn:
        assert count_reprocessable(conn, account_id=account_id, filter=errors) == 2
        first = reprocess_integrations(conn, account_id=account_id, actor="ana@loja", filter=errors, reason="fixed EAN")
        again = reprocess_integrations(conn, account_id=account_id, actor="ana@loja", ids=[c1.id], reason="again")
    assert (first, again) == (2, 0)
    with db.read() as conn:
        rows = conn.execute(select(integrations.c.next_actor, integrations.c.next_trigger)).all()
        audit = conn.execute(select(audit_log.c.actor, audit_log.c.detail)).all()
    assert {tuple(r) for r in rows} == {("ana@loja", "reprocess")}
    assert audit[0].detail["reason"] == "fixed EAN" and audit[0].detail["count"] == 2


def test_reprocess_never_touches_another_account(db):
    with db.write() as conn:
        account_id, affiliate_id = _store(conn)
        other = get_or_create_account(conn, slug="loja-b")
        mark_changed(conn, account_id=account_id, flow="product", keys=[(affiliate_id, "SKU-1")])
        (claim,) = claim_due(conn, owner="w1", limit=50, lease_seconds=60)
        finish(conn, claim=claim, owner="w1", state=_done(claim))
        assert reprocess_integrations(conn, account_id=other, actor="mallory", ids=[claim.id]) == 0


def test_transient_errors_back_off_and_honour_retry_after():
    schedule = (5.0, 30.0, 120.0)
    at = now()
    step = next_step(
        status=Status.ERROR,
        disposition=Disposition.TRANSIENT,
        category="rate_limited",
        retry_count=0,
        retry_after=90.0,
        schedule=schedule,
        wait_delay=600,
        now=at,
        rng=random.Random(1),
    )
    assert step.status == Status.PENDING and step.retry_count == 1
    assert step.due_at is not None and (step.due_at - at).total_seconds() >= 90.0
    later = next_step(
        status=Status.ERROR,
        disposition=Disposition.TRANSIENT,
        category="marketplace_unavailable",
        retry_count=1,
        retry_after=None,
        schedule=schedule,
        wait_delay=600,
        now=at,
        rng=random.Random(1),
    )
    assert later.due_at is not None and 24 <= (later.due_at - at).total_seconds() <= 36


def test_it_gives_up_after_the_last_retry_and_keeps_fix_errors_as_errors():
    common = {"retry_after": None, "schedule": (1.0, 2.0), "wait_delay": 60.0, "now": now()}
    spent = next_step(
        status=Status.ERROR,
        disposition=Disposition.TRANSIENT,
        category="marketplace_unavailable",
        retry_count=2,
        **common,
    )
    assert spent.status == Status.ERROR and spent.gave_up
    fix = next_step(status=Status.ERROR, disposition=Disposition.FIX, category="invalid_gtin", retry_count=0, **common)
    assert fix.status == Status.ERROR and fix.due_at is None
    unmapped = next_step(status=Status.ERROR, disposition=Disposition.FIX, category="unmapped", retry_count=0, **common)
    assert unmapped.status == Status.PENDING  # an unknown message is retried once


def test_marking_changed_and_a_batch_write_of_the_same_rows_never_deadlock(db):
    """An ERP's price push marks integrations pending while a worker records sends of the same ones. The worker,
    like every batch write, locks its rows in id order; mark_changed must too (in key order it deadlocked: the
    rows here are created so that their ids run against their keys)."""
    import pytest
    from sqlalchemy import update

    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): two writers cannot deadlock there")
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate = add_affiliate(conn, account, "MLB", "MLB")
    codes = [f"SKU-{n:04d}" for n in range(300)]
    with db.write() as conn:
        for code in reversed(codes):
            mark_changed(conn, account_id=account, flow="price", keys=[(affiliate, code)])
        ids = list(conn.execute(select(integrations.c.id).order_by(integrations.c.id)).scalars())
    failures: list[str] = []

    def worker():
        for _ in range(20):
            try:
                with db.write() as conn:
                    locked = select(integrations.c.id).where(integrations.c.id.in_(ids)).order_by(integrations.c.id)
                    conn.execute(locked.with_for_update()).all()
                    conn.execute(
                        update(integrations)
                        .where(integrations.c.id.in_(ids))
                        .values(attempt_count=integrations.c.attempt_count + 1)
                    )
            except Exception as exc:  # a deadlock is an OperationalError
                failures.append(f"worker: {exc.__class__.__name__}")

    def push():
        for _ in range(20):
            try:
                with db.write() as conn:
                    mark_changed(conn, account_id=account, flow="price", keys=[(affiliate, c) for c in codes])
            except Exception as exc:
                failures.append(f"push: {exc.__class__.__name__}")

    run_together(worker, push)
    assert failures == []
    with db.read() as conn:
        counts = set(conn.execute(select(integrations.c.attempt_count)).scalars())
    assert counts == {20}
