"""The connector platform's shared parts, on SQLite and PostgreSQL: rate buckets every worker honours, order feeds
read once per interval whoever polls, notifications kept once while they wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ponte.connectors.base import RateLimit
from ponte.connectors.context import Deferred
from ponte.engine.ratelimits import SharedLimits, bucket_keys
from ponte.store.db import Database
from ponte.store.feeds import claim_feed
from ponte.store.notifications import DONE, claim_notifications, record_notification, settle_notification
from ponte.store.tables import notifications

RATES = {"items": RateLimit(rate=2.0, burst=4.0), "orders": RateLimit(rate=1 / 60, burst=1, scope="app")}


class Clock:
    """A clock the test moves, and the waits the limiter asked for. With `advance`, a wait moves the clock (one
    caller after another); without, callers all stand at the same instant (many workers at once)."""

    def __init__(self, *, advance: bool = True) -> None:
        self.at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        self.advance = advance
        self.waited: list[float] = []

    def __call__(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.waited.append(seconds)
        if self.advance:
            self.at += timedelta(seconds=seconds)


def limits(db: Database, clock: Clock, affiliate_id: int = 1, app: str = "app-1") -> SharedLimits:
    # Exact figures (no margin), so that the test reads the rates it declares.
    keys = bucket_keys("meli", affiliate_id, app)
    return SharedLimits(db, RATES, keys, clock=clock, sleep=clock.sleep, margins=(1.0, 1.0))


def test_a_burst_passes_then_calls_wait_their_turn_then_go_back_to_the_queue(db: Database) -> None:
    clock = Clock(advance=False)
    worker = limits(db, clock)
    for _ in range(4):
        worker.acquire("items")
    assert clock.waited == []  # the burst
    worker.acquire("items")
    assert clock.waited == [pytest.approx(0.5)]  # the next token, at 2 a second
    for _ in range(3):
        worker.acquire("items")
    assert clock.waited == [pytest.approx(w) for w in (0.5, 1.0, 1.5, 2.0)]  # each caller owns a later slot
    with pytest.raises(Deferred) as deferred:  # 2 s of queue ahead: the work goes back, due when its turn comes
        worker.acquire("items")
    assert deferred.value.seconds == pytest.approx(2.5)
    worker.acquire("orders")  # another operation has its own bucket
    assert worker.available("items") < 1


def test_the_bucket_is_shared_by_every_worker(db: Database) -> None:
    clock = Clock()
    first, second = limits(db, clock), limits(db, clock)
    for _ in range(4):
        first.acquire("items")
    second.acquire("items")  # the other worker finds the burst spent
    assert clock.waited == [pytest.approx(0.5)]


def test_an_app_scoped_rate_is_shared_by_every_store_of_the_app_and_not_by_another_app(db: Database) -> None:
    clock = Clock()
    limits(db, clock, affiliate_id=1).acquire("orders")
    with pytest.raises(Deferred):  # another store, same application: the quota is the app's
        limits(db, clock, affiliate_id=2).acquire("orders")
    limits(db, clock, affiliate_id=3, app="app-2").acquire("orders")  # another application has its own


def test_a_429_pauses_the_operation_for_every_worker_until_retry_after(db: Database) -> None:
    clock = Clock()
    limits(db, clock).pause("items", 30)
    other = limits(db, clock)
    with pytest.raises(Deferred) as deferred:
        other.acquire("items")
    assert deferred.value.seconds == pytest.approx(30)
    other.acquire("orders")  # only the refused operation is paused
    clock.at += timedelta(seconds=31)
    other.acquire("items")


def test_an_operation_without_a_declared_rate_is_never_held(db: Database) -> None:
    clock = Clock()
    worker = limits(db, clock)
    for _ in range(50):
        worker.acquire("undeclared")
    assert clock.waited == [] and worker.available("undeclared") == float("inf")


def test_an_order_feed_is_read_by_one_worker_per_interval(db: Database) -> None:
    from factories import add_affiliate
    from ponte.auth import get_or_create_account

    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-feed")
        affiliate = add_affiliate(conn, account, "MLB", "Mercado Livre")
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with db.write() as conn:
        assert claim_feed(conn, affiliate_id=affiliate, every=900, now=at) == (True, None)
    with db.write() as conn:  # another worker, a minute later
        assert claim_feed(conn, affiliate_id=affiliate, every=900, now=at + timedelta(minutes=1))[0] is False
    with db.write() as conn:
        assert claim_feed(conn, affiliate_id=affiliate, every=900, now=at + timedelta(minutes=16))[0] is True


def test_a_notification_repeated_while_it_waits_is_one_and_one_after_it_was_read_is_read_again(db: Database) -> None:
    from sqlalchemy import func, select

    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    for _ in range(5):
        with db.write() as conn:
            record_notification(conn, connector="meli", subject="1", topic="orders_v2", resource="/orders/9", now=at)
    with db.write() as conn:
        (waiting,) = claim_notifications(conn, now=at, lease_seconds=60, limit=10)
        settle_notification(conn, notification_id=waiting.id, status=DONE, now=at)
    with db.write() as conn:
        assert claim_notifications(conn, now=at, lease_seconds=60, limit=10) == []
        record_notification(conn, connector="meli", subject="1", topic="orders_v2", resource="/orders/9", now=at)
    with db.write() as conn:
        assert len(claim_notifications(conn, now=at, lease_seconds=60, limit=10)) == 1
        assert conn.execute(select(func.count()).select_from(notifications)).scalar_one() == 1


def test_by_default_ponte_spends_a_little_less_than_the_marketplace_allows(db: Database) -> None:
    clock = Clock(advance=False)
    worker = SharedLimits(db, RATES, bucket_keys("meli", 1, "app-1"), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        worker.acquire("items")
    assert clock.waited == []
    worker.acquire("items")  # the declared burst is 4: Ponte keeps a margin for the two clocks' disagreement
    assert clock.waited and clock.waited[0] > 0


def test_a_fast_operation_takes_its_tokens_in_blocks_and_never_overdraws_the_bucket(db: Database) -> None:
    """At 400 a second each trip to the database takes a twentieth of a second's worth (20 tokens): 8 send threads
    no longer queue for SQLite's write lock once per request. The bucket still serves no more than it holds, to
    this process or another, and a 429 drops what the process that saw it had taken ahead."""
    clock = Clock(advance=False)
    fast = {"items": RateLimit(rate=400.0, burst=40.0)}
    keys = bucket_keys("meli", 1, "app-1")
    first, second = (SharedLimits(db, fast, keys, clock=clock, sleep=clock.sleep, margins=(1.0, 1.0)) for _ in "ab")
    first.acquire("items")
    assert first.available("items") == pytest.approx(20)  # 1 spent, 19 taken ahead by this process
    served = 1
    while not clock.waited:  # the clock stands still: nothing refills
        first.acquire("items")
        served += 1
    assert served == 41  # the burst without a wait; the 41st owns the next slot
    second.acquire("items")
    assert clock.waited == [pytest.approx(1 / 400), pytest.approx(2 / 400)]  # nothing left for the other either
    clock.at += timedelta(seconds=1)
    first.acquire("items")  # a new block
    first.pause("items", 30)
    with pytest.raises(Deferred):
        first.acquire("items")
