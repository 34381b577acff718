"""An order's invoice as the store keeps it, and the attempts an ERP's invoices leave in the order's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from ponte.store.tables import integrations, orders


def order_by_external_id(conn: Connection, *, account_id: int, external_id: str) -> Row[Any] | None:
    return conn.execute(
        select(orders).where(orders.c.account_id == account_id, orders.c.external_id == external_id)
    ).first()


def save_invoice(conn: Connection, *, order_id: int, values: dict[str, Any], now: datetime) -> None:
    """The order's NF-e (key, XML) and shipment (carrier, tracking number): the order is invoiced."""
    conn.execute(update(orders).where(orders.c.id == order_id).values(**values, status="invoiced", updated_at=now))


def integration_of(conn: Connection, *, account_id: int, flow: str, affiliate_id: int, entity: str) -> Row[Any] | None:
    i = integrations.c
    return conn.execute(
        select(integrations).where(
            i.account_id == account_id, i.flow == flow, i.affiliate_id == affiliate_id, i.entity == entity
        )
    ).first()


def note_state(conn: Connection, *, integration_id: int, state: dict[str, Any], now: datetime) -> None:
    """Count one more attempt, and show its state unless Ponte has queued or leased the integration itself."""
    i = integrations.c
    conn.execute(update(integrations).where(i.id == integration_id).values(attempt_count=i.attempt_count + 1))
    conn.execute(
        update(integrations)
        .where(i.id == integration_id, i.lease_owner.is_(None), i.status != "pending")
        .values(**state, processed_at=now)
    )
