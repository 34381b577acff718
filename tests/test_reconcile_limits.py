"""Reconciliation's reads spend only spare quota: they leave the shared bucket's reserve to the sends, and stop
(Deferred) when the sends keep it below that reserve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ponte.connectors.base import RateLimit
from ponte.connectors.context import Deferred
from ponte.engine.ratelimits import SharedLimits, SpareLimits
from ponte.store.db import Database

RATES = {"api": RateLimit(rate=10.0, burst=20.0, scope="app")}


class Clock:
    """A clock that moves only when a wait moves it."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)


def test_reads_leave_the_reserve_to_the_sends_and_stop_when_sends_use_it(db: Database) -> None:
    clock = Clock()
    shared = SharedLimits(db, RATES, {"app": "meli:app:1"}, clock=clock, sleep=clock.sleep, max_wait=0.5)
    reads = SpareLimits(shared, sleep=clock.sleep)
    assert shared.available("api") == pytest.approx(18.0)  # the burst, with Ponte's margin
    for _ in range(9):
        reads.acquire("api")
    assert clock.slept == [] and shared.available("api") == pytest.approx(9.0)  # half the bucket is kept back
    for _ in range(9):
        shared.acquire("api")  # the sends find their tokens at once
    assert clock.slept == []
    with pytest.raises(Deferred):
        reads.acquire("api")  # nothing spare: the read waits for a quieter moment
    clock.at += timedelta(seconds=2)
    reads.acquire("api")  # refilled beyond the reserve: reads go on
    assert shared.available("api") >= 9.0 - 0.01
