"""Shipping rules (SLAs) as stored."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, insert

from ponte.store.tables import shipping_rules


def insert_shipping_rule(
    conn: Connection,
    *,
    account_id: int,
    sla: str,
    postal_from: str,
    postal_to: str,
    max_weight_g: int,
    days: int,
    price: Decimal,
) -> int:
    stmt = insert(shipping_rules).values(
        account_id=account_id,
        sla=sla,
        postal_from=postal_from,
        postal_to=postal_to,
        max_weight_g=max_weight_g,
        days=days,
        price=price,
    )
    return int(conn.execute(stmt.returning(shipping_rules.c.id)).scalar_one())
