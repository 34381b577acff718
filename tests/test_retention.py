"""Retention: old attempts go (on PostgreSQL by dropping monthly partitions); recent ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.store import partitions
from ponte.store.partitions import create_month_partitions, prune_attempts
from ponte.store.queue import insert_attempt, mark_changed
from ponte.store.tables import attempt_bodies, attempts, integrations


def _log(conn, when_list):
    account = get_or_create_account(conn, slug="loja-a")
    affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
    mark_changed(conn, account_id=account, flow="price", keys=[(affiliate_id, "SKU-1")])
    integration_id = conn.execute(select(integrations.c.id)).scalar_one()
    for when in when_list:
        insert_attempt(
            conn,
            values={
                "account_id": account,
                "integration_id": integration_id,
                "trigger": "change",
                "system": "MLB",
                "status": "success",
                "started_at": when,
            },
            request={"price": 10},
            response={"ok": True},
            body_limit=1000,
        )


def test_it_prunes_attempts_older_than_the_cutoff_with_their_bodies(db):
    today = now()
    old = [datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 2, 3, tzinfo=UTC)]
    recent = [today - timedelta(days=1), today]
    with db.write() as conn:
        create_month_partitions(conn, at=datetime(2025, 1, 1, tzinfo=UTC), ahead=2)
        _log(conn, old + recent)
    removed = prune_attempts(db, older_than=today - timedelta(days=90))
    with db.read() as conn:
        kept = conn.execute(select(attempts.c.started_at).order_by(attempts.c.started_at)).scalars().all()
        bodies = conn.execute(select(func.count()).select_from(attempt_bodies)).scalar_one()
    assert removed == 2
    assert kept == recent and bodies == 2


# A lock budget of 0 keeps every range at SQLITE_BATCH ids (each transaction is "too long"); a generous one
# doubles the range after each quick transaction.
@pytest.mark.parametrize("lock_seconds", [0.0, 60.0], ids=["fixed-ranges", "growing-ranges"])
def test_sqlite_prunes_a_backlog_batch_by_batch_with_every_body(db, monkeypatch, lock_seconds):
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL drops whole monthly partitions, not batches")
    monkeypatch.setattr(partitions, "SQLITE_BATCH", 3)
    monkeypatch.setattr(partitions, "SQLITE_LOCK_SECONDS", lock_seconds)
    transactions = []
    original_write = db.write

    def counting_write():
        transactions.append(1)
        return original_write()

    monkeypatch.setattr(db, "write", counting_write)
    today = now()
    old = [datetime(2025, 1, day, tzinfo=UTC) for day in range(1, 11)]
    with db.write() as conn:
        _log(conn, [*old, today])
    transactions.clear()
    removed = partitions.prune_attempts(db, older_than=today - timedelta(days=90))
    with db.read() as conn:
        kept = conn.execute(select(attempts.c.started_at)).scalars().all()
        bodies = conn.execute(select(attempt_bodies.c.started_at)).scalars().all()
    assert removed == 10
    assert kept == [today] and bodies == [today]
    # 11 ids: ranges of 3 take four transactions; ranges of 3, 6 and 12 take three.
    assert len(transactions) == (4 if lock_seconds == 0 else 3)


def test_partitions_are_made_ahead_once(db):
    with db.write() as conn:
        first = create_month_partitions(conn, at=datetime(2030, 5, 1, tzinfo=UTC), ahead=1)
        again = create_month_partitions(conn, at=datetime(2030, 5, 1, tzinfo=UTC), ahead=1)
    if db.dialect == "postgresql":
        assert first == ["attempts_2030_05", "attempt_bodies_2030_05", "attempts_2030_06", "attempt_bodies_2030_06"]
    else:
        assert first == []
    assert again == []
