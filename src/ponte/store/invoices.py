"""An order's invoice as the store keeps it, and the attempts an ERP's invoices leave in the order's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from ponte.store.tables import affiliates, integrations, orders


def save_invoice(conn: Connection, *, order_id: int, values: dict[str, Any], now: datetime) -> None:
    """The order's NF-e (key, XML) and shipment (carrier, tracking number): the order is invoiced."""
    conn.execute(update(orders).where(orders.c.id == order_id).values(**values, status="invoiced", updated_at=now))


def awaiting_tracking(conn: Connection, *, account_id: int, erp_id: int, since: datetime, limit: int) -> list[str]:
    """The marketplace order ids of orders handed to this ERP and invoiced since `since` without a tracking code,
    oldest first."""
    i = integrations.c
    handed = select(i.entity).where(i.account_id == account_id, i.flow == "order", i.affiliate_id == erp_id)
    query = (
        select(orders.c.external_id)
        .where(
            orders.c.account_id == account_id, orders.c.status == "invoiced", orders.c.invoice_key.is_not(None),
            orders.c.tracking_number.is_(None), orders.c.updated_at >= since, orders.c.external_id.in_(handed),
        )
        .order_by(orders.c.updated_at, orders.c.id)
        .limit(limit)
    )  # fmt: skip
    return list(conn.execute(query).scalars())


def affiliate_connector(conn: Connection, *, affiliate_id: int) -> tuple[str, str]:
    """(connector, kind) of an affiliate."""
    row = conn.execute(select(affiliates.c.connector, affiliates.c.kind).where(affiliates.c.id == affiliate_id)).one()
    return str(row.connector), str(row.kind)


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
