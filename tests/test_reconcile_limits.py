"""Reconciliation's reads spend only spare quota: they leave the shared bucket's reserve to the sends, and stop
(Deferred) when the sends keep it below that reserve."""

from __future__ import annotations

import pytest

from ponte.clock import advance, travelling
from ponte.connectors.base import RateLimit
from ponte.connectors.context import Deferred
from ponte.engine.ratelimits import SharedLimits, SpareLimits
from ponte.store.db import Database

RATES = {"api": RateLimit(rate=10.0, burst=20.0, scope="app")}


def test_reads_leave_the_reserve_to_the_sends_and_stop_when_sends_use_it(db: Database) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        advance(seconds)

    with travelling():
        shared = SharedLimits(db, RATES, {"app": "meli:app:1"}, sleep=sleep, max_wait=0.5)
        reads = SpareLimits(shared, sleep=sleep)
        full = shared.available("api")
        assert full == pytest.approx(18.0)  # the burst, with Ponte's margin
        for _ in range(9):
            reads.acquire("api")
        assert slept == [] and shared.available("api") >= 9.0 - 0.05  # half the bucket is kept back
        for _ in range(9):
            shared.acquire("api")  # the sends find their tokens at once
        assert slept == []
        with pytest.raises(Deferred):
            reads.acquire("api")  # nothing spare: the read waits for a quieter moment
        advance(2.0)
        reads.acquire("api")  # refilled beyond the reserve: reads go on
