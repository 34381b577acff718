"""Order-feed positions per affiliate, and the claim that makes one worker read each feed per interval."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, or_, update

from ponte.store.db import upsert
from ponte.store.tables import feed_cursors


def claim_feed(
    conn: Connection,
    *,
    affiliate_id: int,
    every: float,
    now: datetime,
    force: bool = False,
    table: Table = feed_cursors,
) -> tuple[bool, str | None]:
    """(claimed, cursor): True for the one worker that finds the feed unread for `every` seconds; it records the
    read now, so the others skip it until the next interval. `table`: another feed's positions (an ERP's catalog),
    whose row exists already."""
    if table is feed_cursors:
        conn.execute(
            upsert(conn, feed_cursors)
            .values(affiliate_id=affiliate_id, cursor=None, polled_at=None)
            .on_conflict_do_nothing(index_elements=[feed_cursors.c.affiliate_id])
        )
    f = table.c
    stmt = update(table).where(f.affiliate_id == affiliate_id).values(polled_at=now)
    if not force:
        stmt = stmt.where(or_(f.polled_at.is_(None), f.polled_at <= now - timedelta(seconds=every)))
    row = conn.execute(stmt.returning(f.cursor)).first()
    return (row is not None, None if row is None else row.cursor)


def save_cursor(conn: Connection, *, affiliate_id: int, cursor: str | None, table: Table = feed_cursors) -> None:
    conn.execute(update(table).where(table.c.affiliate_id == affiliate_id).values(cursor=cursor))
