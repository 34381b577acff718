"""The Overview query layer: health per affiliate × flow, hourly attempts and errors, oldest pending work.

Every query is scoped to one account and bounded: current states come from the kept status counters
(never a count of the integrations), attempts are read through the (account_id, started_at) index over a
fixed time range (24 h for the tiles, 7 days for the charts), and lists have a LIMIT.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ponte.clock import now as clock_now
from ponte.domain import Flow, Status
from ponte.services.connections import Cause, list_causes
from ponte.store import overview as store
from ponte.store.counters import read_status_counts
from ponte.store.filters import IntegrationFilter
from ponte.store.overview import AffiliateName, PendingItem

SERIES_HOURS = 7 * 24
OLDEST_LIMIT = 10
CAUSES_LIMIT = 5
# A tile turns red below this success rate (with enough attempts to mean something), amber with open errors.
BAD_RATE = 0.8
MIN_ATTEMPTS_FOR_RATE = 5
STALE_PENDING = timedelta(minutes=60)


@dataclass
class Tile:
    """One affiliate in one flow: what happened in the last 24 h and what is waiting now."""

    flow: str
    affiliate_id: int
    affiliate_code: str
    affiliate_name: str
    attempts_24h: int = 0
    errors_24h: int = 0
    ok_24h: int = 0  # success and warning
    open_errors: int = 0  # integrations in error now (from the counters)
    pending: int = 0  # integrations pending now (from the counters)
    oldest_pending_at: datetime | None = None  # due time of the oldest due pending integration

    @property
    def success_rate(self) -> float | None:
        return self.ok_24h / self.attempts_24h if self.attempts_24h else None

    def health(self, now: datetime) -> str:
        """ok | warn | bad | idle: the tile's colour, with the reason readable from its numbers."""
        rate = self.success_rate
        if rate is not None and self.attempts_24h >= MIN_ATTEMPTS_FOR_RATE and rate < BAD_RATE:
            return "bad"
        if self.open_errors or (self.oldest_pending_at and now - self.oldest_pending_at > STALE_PENDING):
            return "warn"
        if not self.attempts_24h and not self.pending:
            return "idle"
        return "ok"


@dataclass
class Series:
    """Attempts and errors per hour, oldest hour first, for one (flow, affiliate) or a sum of them."""

    hours: list[datetime]
    attempts: list[int]
    errors: list[int]


@dataclass
class Overview:
    now: datetime
    tiles: list[Tile]
    hourly: dict[tuple[str, int], Series]  # (flow, affiliate_id) -> series
    hours: list[datetime]
    causes: list[Cause]
    oldest_pending: list[PendingItem]
    affiliates: dict[int, str] = field(default_factory=dict)  # id -> code

    def total(self, *, flow: str | None = None, affiliate_id: int | None = None) -> Series:
        """The hourly series summed over the (flow, affiliate) pairs that match."""
        attempts_sum = [0] * len(self.hours)
        errors_sum = [0] * len(self.hours)
        for (f, a), s in self.hourly.items():
            if (flow is None or f == flow) and (affiliate_id is None or a == affiliate_id):
                attempts_sum = [x + y for x, y in zip(attempts_sum, s.attempts, strict=True)]
                errors_sum = [x + y for x, y in zip(errors_sum, s.errors, strict=True)]
        return Series(self.hours, attempts_sum, errors_sum)


def oldest_pending(conn: Connection, *, account_id: int, now: datetime, limit: int = OLDEST_LIMIT) -> list[PendingItem]:
    """The pending integrations that have been due the longest (the queue index: status, due_at)."""
    return store.oldest_pending(conn, account_id=account_id, now=now, limit=limit)


def _tiles(conn: Connection, account_id: int, now: datetime, names: dict[int, AffiliateName]) -> list[Tile]:
    tiles: dict[tuple[str, int], Tile] = {}

    def tile(flow: str, affiliate_id: int) -> Tile:
        if (flow, affiliate_id) not in tiles:
            row = names[affiliate_id]
            tiles[(flow, affiliate_id)] = Tile(flow, affiliate_id, row.code, row.name)
        return tiles[(flow, affiliate_id)]

    for (flow, affiliate_id, status), n in read_status_counts(conn, account_id=account_id).items():
        if affiliate_id in names and status in (Status.ERROR.value, Status.PENDING.value):
            t = tile(flow, affiliate_id)
            if status == Status.ERROR.value:
                t.open_errors += n
            else:
                t.pending += n
    for r in store.attempt_counts(conn, account_id=account_id, since=now - timedelta(hours=24), hourly=False):
        if r.affiliate_id not in names:
            continue
        t = tile(r.flow, r.affiliate_id)
        t.attempts_24h += r.n
        if r.status == Status.ERROR.value:
            t.errors_24h += r.n
        elif r.status in (Status.SUCCESS.value, Status.WARNING.value):
            t.ok_24h += r.n
    for key, due in store.oldest_due(conn, account_id=account_id, now=now).items():
        if key in tiles:
            tiles[key].oldest_pending_at = due
    flow_order = [f.value for f in Flow]
    return sorted(tiles.values(), key=lambda t: (t.affiliate_code, flow_order.index(t.flow)))


def _hourly(conn: Connection, account_id: int, hours: list[datetime]) -> dict[tuple[str, int], Series]:
    index = {h: n for n, h in enumerate(hours)}
    series: dict[tuple[str, int], Series] = defaultdict(lambda: Series(hours, [0] * len(hours), [0] * len(hours)))
    for r in store.attempt_counts(conn, account_id=account_id, since=hours[0], hourly=True):
        slot = None if r.hour is None else index.get(r.hour)
        if slot is None:
            continue
        s = series[(r.flow, r.affiliate_id)]
        s.attempts[slot] += r.n
        if r.status == Status.ERROR.value:
            s.errors[slot] += r.n
    return dict(series)


def overview(conn: Connection, *, account_id: int, now: datetime | None = None) -> Overview:
    """Everything the Overview page shows for one account, in a handful of bounded queries."""
    when = now or clock_now()
    last_hour = when.replace(minute=0, second=0, microsecond=0)
    hours = [last_hour - timedelta(hours=SERIES_HOURS - 1 - n) for n in range(SERIES_HOURS)]
    names = store.affiliate_names(conn, account_id=account_id)
    return Overview(
        now=when,
        tiles=_tiles(conn, account_id, when, names),
        hourly=_hourly(conn, account_id, hours),
        hours=hours,
        causes=list_causes(conn, account_id=account_id, filter=IntegrationFilter(), limit=CAUSES_LIMIT),
        oldest_pending=oldest_pending(conn, account_id=account_id, now=when),
        affiliates={k: v.code for k, v in names.items()},
    )
