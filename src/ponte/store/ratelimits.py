"""Token buckets shared by every worker: one row per (scope, operation), taken from and refilled in SQL
transactions (a row lock on PostgreSQL, the write lock on SQLite), paused by a marketplace's 429."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select, update

from ponte.store.db import upsert
from ponte.store.tables import rate_buckets


@dataclass(frozen=True)
class Taken:
    """What a take came to: `wait` seconds until the tokens are there (0: now); `paused` when a 429's pause
    holds the bucket; `taken` whether the tokens were taken (a waiter owns its slot)."""

    wait: float
    paused: bool
    taken: bool
    extra: float = 0.0  # tokens taken beyond `cost`, for the taker to spend soon (SharedLimits' block)


def _refilled(tokens: Decimal, since: datetime, now: datetime, rate: float, burst: float) -> float:
    return min(burst, float(tokens) + max(0.0, (now - since).total_seconds()) * rate)


def _locked(conn: Connection, key: str, burst: float, now: datetime) -> tuple[Decimal, datetime, datetime | None]:
    conn.execute(
        upsert(conn, rate_buckets)
        .values(key=key, tokens=burst, updated_at=now)
        .on_conflict_do_nothing(index_elements=[rate_buckets.c.key])
    )
    query = select(rate_buckets.c.tokens, rate_buckets.c.updated_at, rate_buckets.c.paused_until).where(
        rate_buckets.c.key == key
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    return row.tokens, row.updated_at, row.paused_until


def take_tokens(
    conn: Connection,
    *,
    key: str,
    rate: float,
    burst: float,
    cost: float,
    now: datetime,
    max_wait: float,
    extra: float = 0.0,
) -> Taken:
    """Take `cost` tokens from `key`'s bucket. When they are not all there but will be within `max_wait`
    seconds, they are taken into debt and the caller waits `wait`; beyond that nothing is taken. With `extra`,
    up to that many more whole tokens are taken when they are there now (never into debt)."""
    tokens, since, paused_until = _locked(conn, key, burst, now)
    if paused_until is not None and paused_until > now:
        return Taken((paused_until - now).total_seconds(), paused=True, taken=False)
    level = _refilled(tokens, since, now, rate, burst)
    wait = max(0.0, (cost - level) / rate)
    if wait > max_wait:
        return Taken(wait, paused=False, taken=False)
    more = float(max(0, min(int(extra), int(level - cost)))) if wait == 0 else 0.0
    conn.execute(
        update(rate_buckets)
        .where(rate_buckets.c.key == key)
        .values(tokens=round(level - cost - more, 6), updated_at=now)
    )
    return Taken(wait, paused=False, taken=True, extra=more)


def pause_bucket(conn: Connection, *, key: str, burst: float, seconds: float, now: datetime) -> None:
    """Nobody takes from `key` for `seconds`; the bucket starts empty after it (the marketplace said enough)."""
    _, _, paused_until = _locked(conn, key, burst, now)
    until = now + timedelta(seconds=seconds)
    if paused_until is not None and paused_until > until:
        until = paused_until
    conn.execute(
        update(rate_buckets).where(rate_buckets.c.key == key).values(tokens=0, updated_at=until, paused_until=until)
    )


def bucket_level(conn: Connection, *, key: str, rate: float, burst: float, now: datetime) -> float:
    """Tokens in `key`'s bucket now, without taking any (0 while paused)."""
    row = conn.execute(select(rate_buckets).where(rate_buckets.c.key == key)).first()
    if row is None:
        return burst
    if row.paused_until is not None and row.paused_until > now:
        return 0.0
    return _refilled(row.tokens, row.updated_at, now, rate, burst)


def paused_keys(conn: Connection, keys: list[str], now: datetime) -> dict[str, datetime]:
    """Of these buckets, the ones paused now, and until when."""
    if not keys:
        return {}
    query = select(rate_buckets.c.key, rate_buckets.c.paused_until).where(
        rate_buckets.c.key.in_(keys), rate_buckets.c.paused_until > now
    )
    return {row.key: row.paused_until for row in conn.execute(query)}
