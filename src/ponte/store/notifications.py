"""Notifications marketplaces pushed, waiting for a worker to read what they point at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update

from ponte.store.db import upsert
from ponte.store.tables import notifications

NEW = "new"
DONE = "done"
FAILED = "failed"
IGNORED = "ignored"


@dataclass(frozen=True)
class NotificationRow:
    id: int
    connector: str
    subject: str
    topic: str
    resource: str
    tries: int


def record_notification(
    conn: Connection, *, connector: str, subject: str, topic: str, resource: str, now: datetime
) -> None:
    """Keep a notification; the same resource notified again while it waits stays one row, and one notified
    again after it was read is read again (it changed)."""
    stmt = upsert(conn, notifications).values(
        connector=connector,
        subject=subject,
        topic=topic,
        resource=resource,
        status=NEW,
        tries=0,
        received_at=now,
        due_at=now,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["connector", "subject", "topic", "resource"],
            set_={"status": NEW, "tries": 0, "received_at": now, "due_at": now, "error": None},
            where=notifications.c.status != NEW,
        )
    )


def claim_notifications(conn: Connection, *, now: datetime, lease_seconds: float, limit: int) -> list[NotificationRow]:
    n = notifications.c
    query = (
        select(n.id, n.connector, n.subject, n.topic, n.resource, n.tries)
        .where(n.status == NEW, n.due_at <= now, or_(n.lease_until.is_(None), n.lease_until < now))
        .order_by(n.due_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [NotificationRow(*r) for r in conn.execute(query)]
    if rows:
        conn.execute(
            update(notifications)
            .where(n.id.in_([r.id for r in rows]))
            .values(lease_until=now + timedelta(seconds=lease_seconds))
        )
    return rows


def settle_notification(
    conn: Connection, *, notification_id: int, status: str, now: datetime, error: str | None = None
) -> None:
    conn.execute(
        update(notifications)
        .where(notifications.c.id == notification_id)
        .values(status=status, processed_at=now, lease_until=None, error=error)
    )


def retry_notification(conn: Connection, *, notification_id: int, at: datetime, error: str) -> None:
    conn.execute(
        update(notifications)
        .where(notifications.c.id == notification_id)
        .values(due_at=at, lease_until=None, tries=notifications.c.tries + 1, error=error[:2000])
    )
