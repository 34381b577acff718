"""What the engine gives every connector: its credentials, the shared rate limits, its timeouts.

Connectors see these as small protocols; the engine's implementations keep tokens and buckets in the database,
shared by every process on every machine (ponte.engine.credentials, ponte.engine.ratelimits). The in-memory
implementations here serve a connector used alone, in one process (`ponte explain`, a one-off script).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ponte.connectors.base import Grant, GrantRefused, Identity, RateLimit

# An access token this close to its end is renewed before use: a call never leaves with a token about to die.
EARLY_RENEWAL = timedelta(seconds=60)
# Waiting longer than this for a rate-limit token gives the work back to the queue instead of holding a thread.
MAX_WAIT = 2.0

Refresh = Callable[[Grant], Grant]


class CredentialsMissing(Exception):
    """The affiliate was never authorised: the seller must connect it first."""


class CredentialsRevoked(Exception):
    """The marketplace refused the authorisation (revoked, expired, already used): the seller must reconnect.
    The message is why, in the marketplace's words."""


class Deferred(Exception):
    """Not now: the work goes back to the queue, due again in `seconds` (a rate limit's next token, a pause)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"deferred for {seconds:.1f} s")
        self.seconds = seconds
        self.reason = reason


class Credentials(Protocol):
    def access_token(self, refresh: Refresh) -> str:
        """A working access token, refreshed with `refresh` first when it has expired (one process refreshes,
        the others read its result). Raises CredentialsMissing or CredentialsRevoked."""

    def refused(self, token: str, refresh: Refresh) -> str:
        """The marketplace refused `token` before its time: a new one, unless someone already got one."""

    def current(self) -> Grant | None:
        """The stored grant, as it is."""

    def store(self, grant: Grant, identity: Identity | None = None) -> None:
        """Keep a new grant (after the seller authorised), and who the seller is."""


class RateLimits(Protocol):
    def acquire(self, operation: str, cost: float = 1.0) -> None:
        """Take `cost` tokens of `operation`'s bucket, waiting briefly if need be; raises Deferred when the wait
        would be long or the operation is paused. Operations the connector declares no rate for pass freely."""

    def pause(self, operation: str, seconds: float) -> None:
        """The marketplace said "too many requests": nobody calls `operation` for `seconds`."""

    def available(self, operation: str) -> float:
        """Tokens in `operation`'s bucket now (without taking any); infinite when it has no declared rate."""


@dataclass
class ConnectorContext:
    """Everything a connector instance gets besides its settings."""

    affiliate_code: str
    credentials: Credentials
    limits: RateLimits
    timeout: float = 10.0
    body_limit: int = 16_384
    public_url: str | None = None  # where Ponte is reachable, for callbacks the marketplace calls


def grant_is_fresh(grant: Grant, now: datetime) -> bool:
    return grant.expires_at is None or grant.expires_at - EARLY_RENEWAL > now


class MemoryCredentials:
    """Credentials kept in this process only."""

    def __init__(self, grant: Grant | None = None) -> None:
        self.grant = grant
        self.identity: Identity | None = None
        self.revoked: str | None = None
        self.refreshes = 0
        self._lock = threading.Lock()

    def access_token(self, refresh: Refresh) -> str:
        with self._lock:
            grant = self._usable()
            if grant_is_fresh(grant, datetime.now(UTC)):
                return grant.access_token
            return self._refresh(grant, refresh)

    def refused(self, token: str, refresh: Refresh) -> str:
        with self._lock:
            grant = self._usable()
            if grant.access_token != token:
                return grant.access_token
            return self._refresh(grant, refresh)

    def current(self) -> Grant | None:
        return self.grant

    def store(self, grant: Grant, identity: Identity | None = None) -> None:
        with self._lock:
            self.grant, self.revoked = grant, None
            self.identity = identity or self.identity

    def _usable(self) -> Grant:
        if self.revoked is not None:
            raise CredentialsRevoked(self.revoked)
        if self.grant is None:
            raise CredentialsMissing("not connected yet")
        return self.grant

    def _refresh(self, grant: Grant, refresh: Refresh) -> str:
        self.refreshes += 1
        try:
            self.grant = refresh(grant)
        except GrantRefused as exc:
            self.revoked = str(exc)
            raise CredentialsRevoked(str(exc)) from exc
        return self.grant.access_token


@dataclass
class _Bucket:
    tokens: float
    at: float
    paused_until: float = 0.0


@dataclass
class LocalLimits:
    """Token buckets in this process only (a connector used alone); `rates` are the connector's declared ones."""

    rates: Mapping[str, RateLimit]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, operation: str, cost: float = 1.0) -> None:
        limit = self.rates.get(operation)
        if limit is None:
            return
        with self._lock:
            bucket = self._refill(operation, limit)
            if bucket.paused_until > bucket.at:
                raise Deferred(bucket.paused_until - bucket.at, f"{operation} is paused")
            wait = (cost - bucket.tokens) / limit.rate if bucket.tokens < cost else 0.0
            if wait > MAX_WAIT:
                raise Deferred(wait, f"{operation} is at its rate limit")
            bucket.tokens -= cost  # taken now, even into debt: a waiter owns its slot
        if wait > 0:
            self.sleep(wait)

    def pause(self, operation: str, seconds: float) -> None:
        limit = self.rates.get(operation)
        if limit is None:
            return
        with self._lock:
            bucket = self._refill(operation, limit)
            bucket.paused_until = max(bucket.paused_until, bucket.at + seconds)
            bucket.tokens = min(bucket.tokens, 0.0)

    def available(self, operation: str) -> float:
        limit = self.rates.get(operation)
        if limit is None:
            return float("inf")
        with self._lock:
            bucket = self._refill(operation, limit)
            return 0.0 if bucket.paused_until > bucket.at else bucket.tokens

    def _refill(self, operation: str, limit: RateLimit) -> _Bucket:
        at = self.clock()
        bucket = self._buckets.setdefault(operation, _Bucket(limit.burst, at))
        bucket.tokens = min(limit.burst, bucket.tokens + (at - bucket.at) * limit.rate)
        bucket.at = at
        return bucket


def standalone_context(
    affiliate_code: str,
    *,
    rates: Mapping[str, RateLimit] | None = None,
    grant: Grant | None = None,
    timeout: float = 10.0,
    body_limit: int = 16_384,
) -> ConnectorContext:
    """A context for a connector used alone in this process: credentials and rate limits in memory."""
    return ConnectorContext(
        affiliate_code=affiliate_code,
        credentials=MemoryCredentials(grant),
        limits=LocalLimits(dict(rates or {})),
        timeout=timeout,
        body_limit=body_limit,
    )
