"""The SQL of web sessions and failed logins (see web/session.py and services/logins.py for what they mean)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Row, case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ponte.store.tables import login_failures, users, web_sessions

KEEP_FAILURES = timedelta(days=1)  # a count of failures this old, and no longer locking, is forgotten


def create_session(
    conn: Connection, *, token_hash: str, user_id: int, csrf: str, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        web_sessions.insert().values(
            token_hash=token_hash, user_id=user_id, csrf=csrf, created_at=now, expires_at=expires_at
        )
    )


@dataclass(frozen=True)
class SessionUser:
    """A live session's user, and the session's CSRF token."""

    user_id: int
    account_id: int
    email: str
    role: str
    csrf: str


def session_user(conn: Connection, *, token_hash: str, now: datetime) -> SessionUser | None:
    """The signed-in user (account_id, email, role) and the session's csrf, or None when the session ended."""
    s, u = web_sessions.c, users.c
    query = (
        select(u.id, u.account_id, u.email, u.role, s.csrf)
        .join(users, u.id == s.user_id)
        .where(s.token_hash == token_hash, s.expires_at > now)
    )
    row = conn.execute(query).first()
    return None if row is None else SessionUser(int(row.id), int(row.account_id), row.email, row.role, row.csrf)


def end_session(conn: Connection, *, token_hash: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


def forget_expired(conn: Connection, *, now: datetime) -> int:
    """Delete ended sessions and lapsed login locks; returns how many sessions went."""
    gone = conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now)).rowcount or 0
    f = login_failures.c
    lapsed = or_(f.locked_until.is_(None), f.locked_until < now)
    conn.execute(delete(login_failures).where(f.first_at < now - KEEP_FAILURES, lapsed))
    return int(gone)


def failures(conn: Connection, *, keys: list[str]) -> list[Row]:
    return list(conn.execute(select(login_failures).where(login_failures.c.key.in_(keys))))


def add_failure(conn: Connection, *, key: str, now: datetime, window_start: datetime) -> int:
    """Count one more failure under `key` (starting over when the first was before `window_start`); returns the
    count. One statement (an upsert), so that two processes failing at once both count."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    f = login_failures.c
    stale = f.first_at < window_start
    stmt = (
        insert(login_failures)
        .values(key=key, failures=1, first_at=now)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": case((stale, 1), else_=f.failures + 1),
                "first_at": case((stale, literal(now, type_=f.first_at.type)), else_=f.first_at),
            },
        )
        .returning(login_failures.c.failures)
    )
    return int(conn.execute(stmt).scalar_one())


def lock(conn: Connection, *, key: str, until: datetime) -> None:
    conn.execute(update(login_failures).where(login_failures.c.key == key).values(locked_until=until))


def clear_failures(conn: Connection, *, key: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.key == key))
