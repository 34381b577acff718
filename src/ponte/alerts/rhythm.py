"""How often an affiliate's orders usually arrive, learned from the last weeks: the quiet-orders rule's yardstick.

For every gap between two consecutive imported orders we note the hour of the week it started in (in the
store's time zone). The usual gap after an order placed at that hour is the 90th percentile of those gaps,
widened to neighbouring hours when an hour has too few samples. Simple enough to say in one sentence of
the alert: "no order from MLB for 3h10; at this hour the usual is up to 40 min".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ponte.store.alert_findings import order_times as stored_order_times

LEARN_DAYS = 28
MAX_ORDERS = 20_000  # the newest orders of the window: bounds the read for very busy affiliates
MIN_ORDERS = 20  # fewer orders than this in the window: too little to know a rhythm, never alert
MIN_SAMPLES = 5  # gaps needed for an hour of the week before its neighbours are borrowed
WIDEN_HOURS = 3
HOURS_A_WEEK = 7 * 24
STORE_TZ = ZoneInfo("America/Sao_Paulo")


@dataclass
class Rhythm:
    last_order_at: datetime | None
    gaps: dict[int, list[float]] = field(default_factory=dict)  # hour of week -> gap minutes
    orders: int = 0

    def usual_gap(self, after: datetime) -> float | None:
        """Minutes within which the next order usually comes after one at `after`; None when unknown."""
        if self.orders < MIN_ORDERS:
            return None
        hour = hour_of_week(after)
        samples: list[float] = []
        for spread in range(WIDEN_HOURS + 1):
            samples = [g for h in _around(hour, spread) for g in self.gaps.get(h, [])]
            if len(samples) >= MIN_SAMPLES:
                break
        if len(samples) < MIN_SAMPLES:
            samples = [g for gaps in self.gaps.values() for g in gaps]
        return percentile(samples, 0.9) if samples else None


def _around(hour: int, spread: int) -> set[int]:
    return {(hour + d) % HOURS_A_WEEK for d in range(-spread, spread + 1)}


def hour_of_week(when: datetime) -> int:
    local = when.astimezone(STORE_TZ)
    return local.weekday() * 24 + local.hour


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def learn(times: list[datetime]) -> Rhythm:
    """The rhythm of order times given oldest first."""
    rhythm = Rhythm(last_order_at=times[-1] if times else None, orders=len(times))
    for a, b in pairwise(times):
        rhythm.gaps.setdefault(hour_of_week(a), []).append((b - a).total_seconds() / 60)
    return rhythm


def order_times(
    conn: Connection, *, affiliates: list[tuple[int, int]], now: datetime
) -> dict[tuple[int, int], list[datetime]]:
    """Times of each (account, affiliate)'s orders in the learning window, oldest first, at most its newest
    MAX_ORDERS."""
    since = now - timedelta(days=LEARN_DAYS)
    return stored_order_times(conn, affiliates=affiliates, since=since, until=now, newest=MAX_ORDERS)


# The learned rhythm changes slowly: an hour-old one is as good, and saves reading weeks of orders every minute.
_CACHE: dict[tuple[int, int], tuple[datetime, Rhythm]] = {}
CACHE_FOR = timedelta(hours=1)
# Marketplaces learnt in one statement: at most a million order times in memory at once.
LEARN_BATCH = 50


def rhythms(
    conn: Connection, *, last_orders: dict[tuple[int, int], datetime | None], now: datetime
) -> dict[tuple[int, int], Rhythm]:
    """The rhythm of each (account, affiliate) with its last order time as given (the caller reads it fresh);
    the rhythm itself is relearnt at most hourly, LEARN_BATCH marketplaces a statement."""
    stale = [key for key in last_orders if key not in _CACHE or abs(now - _CACHE[key][0]) > CACHE_FOR]
    for start in range(0, len(stale), LEARN_BATCH):
        for key, times in order_times(conn, affiliates=stale[start : start + LEARN_BATCH], now=now).items():
            _CACHE[key] = (now, learn(times))
    return {
        key: Rhythm(last_order_at=last, gaps=_CACHE[key][1].gaps, orders=_CACHE[key][1].orders)
        for key, last in last_orders.items()
    }


def forget() -> None:
    """Drop every learned rhythm (tests, or after a bulk import of old orders)."""
    _CACHE.clear()
