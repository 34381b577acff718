"""Login throttling: failed logins are counted per e-mail and per client address, in the database (so every web
process sees the same counts), and past a few of them the key is locked for a while that doubles with each
further failure, up to LOCK_MAX. The lock ends by itself: a legitimate user who mistyped is back in minutes, a
guesser gets a handful of tries an hour. A success clears the e-mail's count (not the address's: one address
trying many accounts stays throttled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ponte.store import sessions

EMAIL_LIMIT = 5  # failures for one e-mail before it is locked
ADDRESS_LIMIT = 20  # failures from one client address (many e-mails) before it is locked
WINDOW = timedelta(minutes=15)  # failures further apart than this start the count anew
LOCK_FIRST = timedelta(seconds=30)  # the first lock; each further failure doubles it
LOCK_MAX = timedelta(minutes=15)


@dataclass(frozen=True)
class Throttle:
    """The keys of one login: its e-mail and its client address."""

    email: str
    address: str

    @property
    def keys(self) -> list[tuple[str, int]]:
        return [(f"email:{self.email.strip().lower()[:254]}", EMAIL_LIMIT), (f"ip:{self.address[:64]}", ADDRESS_LIMIT)]


def locked_until(conn: Connection, *, throttle: Throttle, now: datetime) -> datetime | None:
    """When this login may be tried again, or None when it may be tried now."""
    rows = sessions.failures(conn, keys=[key for key, _ in throttle.keys])
    ends = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    return max(ends) if ends else None


def record_failure(conn: Connection, *, throttle: Throttle, now: datetime) -> None:
    for key, limit in throttle.keys:
        count = sessions.add_failure(conn, key=key, now=now, window_start=now - WINDOW)
        if count >= limit:
            sessions.lock(conn, key=key, until=now + min(LOCK_FIRST * 2 ** min(count - limit, 10), LOCK_MAX))


def record_success(conn: Connection, *, throttle: Throttle) -> None:
    sessions.clear_failures(conn, key=throttle.keys[0][0])
