"""Rate limits every worker on every machine honours: the connector's declared rates as token buckets in the
database, and a 429's Retry-After as a pause of that operation for everyone.

Each take is one short write transaction. A send whose token comes within a couple of seconds waits for it
(the token is taken at once, so waiters queue in order); one that would wait longer goes back to the queue,
due when the bucket will have refilled, instead of holding a send thread.

A fast operation (Mercado Livre's 200 requests a second) would make as many write transactions, and a process's
send threads queued for SQLite's write lock, each in its busy handler's sleeps: 8 threads reached a quarter of
the rate. So a process goes to the database one thread at a time, and for a fast operation takes a block of
tokens that are there (a twentieth of a second's worth), spending them in the next half second or dropping them:
a bucket is never overdrawn, only sometimes under-spent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ponte.clock import now as clock_now
from ponte.connectors.base import RateLimit
from ponte.connectors.context import MAX_WAIT, Deferred
from ponte.store.db import Database
from ponte.store.ratelimits import bucket_level, pause_bucket, take_tokens

# Ponte's clock and the marketplace's never agree to the millisecond: a request that left on time arrives a little
# late or early, and a bucket filled to the marketplace's exact figures gets an occasional 429 — which pauses the
# operation for everyone. So Ponte spends a little less than it is allowed.
RATE_MARGIN = 0.97
BURST_MARGIN = 0.9
BLOCK_SECONDS = 0.05  # a block of tokens is this long's worth of the rate (1 token below 40 a second: no block)
BLOCK_LIFE = 0.5  # seconds a process keeps a block's tokens before it drops them


@dataclass
class _Block:
    tokens: float
    until: float  # time.monotonic()


def bucket_keys(kind: str, affiliate_id: int, app_id: str) -> dict[str, str]:
    """The bucket-key prefix of each scope: the seller's own quota, or the application's shared by every store."""
    return {"affiliate": f"{kind}:affiliate:{affiliate_id}", "app": f"{kind}:app:{app_id or affiliate_id}"}


class SharedLimits:
    """A connector's declared rates, shared through the database (ponte.connectors.context.RateLimits)."""

    def __init__(
        self,
        db: Database,
        rates: Mapping[str, RateLimit],
        scopes: Mapping[str, str],
        *,
        max_wait: float = MAX_WAIT,
        clock: Callable[[], datetime] = clock_now,
        sleep: Callable[[float], None] = time.sleep,
        margins: tuple[float, float] = (RATE_MARGIN, BURST_MARGIN),
    ) -> None:
        self.db = db
        self.rates = rates
        self.margins = margins
        self.scopes = scopes
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()  # one thread of this process at the database at a time
        self._blocks: dict[str, _Block] = {}

    def key(self, operation: str) -> str:
        return f"{self.scopes[self.rates[operation].scope]}:{operation}"

    def acquire(self, operation: str, cost: float = 1.0) -> None:
        limit = self.rates.get(operation)
        if limit is None:
            return
        rate, burst = limit.rate * self.margins[0], max(1.0, limit.burst * self.margins[1])
        with self._lock:
            block = self._blocks.pop(operation, None)
            if block is not None and block.tokens >= cost and block.until > time.monotonic():
                if block.tokens > cost:
                    self._blocks[operation] = _Block(block.tokens - cost, block.until)
                return
            with self.db.write() as conn:
                taken = take_tokens(
                    conn,
                    key=self.key(operation),
                    rate=rate,
                    burst=burst,
                    cost=cost,
                    now=self.clock(),
                    max_wait=self.max_wait,
                    extra=min(burst - cost, rate * BLOCK_SECONDS) - cost,
                )
            if taken.extra > 0:
                self._blocks[operation] = _Block(taken.extra, time.monotonic() + BLOCK_LIFE)
        if taken.paused:
            raise Deferred(taken.wait, f"{operation} is paused by the marketplace (429)")
        if not taken.taken:
            raise Deferred(taken.wait, f"{operation} is at its rate limit")
        if taken.wait > 0:
            self.sleep(taken.wait)

    def pause(self, operation: str, seconds: float) -> None:
        limit = self.rates.get(operation)
        if limit is None:
            return
        with self._lock:
            self._blocks.pop(operation, None)
        with self.db.write() as conn:
            pause_bucket(
                conn,
                key=self.key(operation),
                burst=max(1.0, limit.burst * self.margins[1]),
                seconds=seconds,
                now=self.clock(),
            )

    def available(self, operation: str) -> float:
        limit = self.rates.get(operation)
        if limit is None:
            return float("inf")
        with self.db.read() as conn:
            return bucket_level(
                conn,
                key=self.key(operation),
                rate=limit.rate * self.margins[0],
                burst=max(1.0, limit.burst * self.margins[1]),
                now=self.clock(),
            )


class SpareLimits:
    """The same shared buckets, for reads that must never starve the sends (reconciliation): a read takes a token
    only when the bucket holds more than `reserve` of its burst beyond it, so that a send arriving finds its tokens
    there. A busy queue keeps the bucket below the reserve, and the reads stop until it refills; an idle one lets
    them spend the whole rate."""

    def __init__(self, limits: SharedLimits, *, reserve: float = 0.5, sleep: Callable[[float], None] = time.sleep):
        self.limits = limits
        self.reserve = reserve
        self.sleep = sleep

    def acquire(self, operation: str, cost: float = 1.0) -> None:
        limit = self.limits.rates.get(operation)
        if limit is None:
            return
        burst = max(1.0, limit.burst * self.limits.margins[1])
        kept = min(burst - cost, burst * self.reserve)  # a burst of one keeps nothing back: it waits its turn
        for _ in range(2):
            level = self.limits.available(operation)
            short = kept + cost - level
            if short <= 0:
                break
            wait = short / (limit.rate * self.limits.margins[0])
            if wait > self.limits.max_wait:
                raise Deferred(wait, f"{operation} has no spare quota for a low-priority read")
            self.sleep(wait)
        self.limits.acquire(operation, cost)

    def pause(self, operation: str, seconds: float) -> None:
        self.limits.pause(operation, seconds)

    def available(self, operation: str) -> float:
        return self.limits.available(operation)
