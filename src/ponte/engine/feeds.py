"""Order feeds: read each enabled marketplace's new orders and record them, resuming where the last read stopped.

A page of orders is recorded by `services.orders.receive_orders` (a duplicate is recognised, never created twice)
and each new one queued as an order integration; the worker then validates and places it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Row, select, update

from ponte.clock import now
from ponte.connectors.base import Connector
from ponte.domain import Flow, Status
from ponte.services.catalog import input_error
from ponte.services.orders import IncomingOrder, receive_orders
from ponte.store.db import Database
from ponte.store.tables import affiliates, feed_cursors

log = logging.getLogger("ponte.worker")


def poll_order_feeds(db: Database, connector_for: Callable[[Row], Connector]) -> int:
    """Read every enabled marketplace's order feed once; returns how many orders were new."""
    with db.read() as conn:
        rows = conn.execute(
            select(affiliates, feed_cursors.c.cursor)
            .outerjoin(feed_cursors, feed_cursors.c.affiliate_id == affiliates.c.id)
            .where(affiliates.c.enabled.is_(True), affiliates.c.kind == "marketplace")
        ).all()
    new = 0
    for row in rows:
        try:  # one store's broken settings, feed or orders must not stop the other stores' feeds
            connector = connector_for(row)
            if Flow.ORDER.value not in connector.flows:
                continue
            page = connector.fetch_orders(row.cursor)
            if page.outcome is not None and page.outcome.status == Status.ERROR:
                log.warning("order feed of %s: %s", row.code, page.outcome.message)
                continue
            new += _store_orders(db, row, page.orders, page.cursor)
        except Exception:
            log.warning("reading the order feed of %s failed: %s", row.code, traceback.format_exc())
    return new


def _store_orders(db: Database, affiliate: Row, orders: list[dict[str, Any]], cursor: str | None) -> int:
    """Record a page of the feed: an order that does not validate is logged and skipped, the others recorded
    together."""
    valid = []
    for data in orders:
        try:
            valid.append(IncomingOrder.model_validate(data))
        except ValidationError as exc:
            reason = input_error(exc)
            log.warning("order %s from %s refused: %s", data.get("id"), affiliate.code, reason)
    with db.write() as conn:
        new = receive_orders(
            conn,
            account_id=affiliate.account_id,
            affiliate_id=affiliate.id,
            orders_in=valid,
            actor=f"feed:{affiliate.code}",
        )
        _save_cursor(conn, affiliate.id, cursor)
    return len(new)


def _save_cursor(conn: Connection, affiliate_id: int, cursor: str | None) -> None:
    changed = conn.execute(
        update(feed_cursors).where(feed_cursors.c.affiliate_id == affiliate_id).values(cursor=cursor, polled_at=now())
    )
    if not changed.rowcount:
        conn.execute(feed_cursors.insert().values(affiliate_id=affiliate_id, cursor=cursor, polled_at=now()))
