"""Marketplace orders as the engine keeps them: recorded when received, read to be placed or sent on, placed,
refused or cancelled; and the stock their lines reserve. Typed records, never Rows (ponte.engine.orders decides)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, select, update

from ponte.domain import Flow, Status
from ponte.store.db import upsert
from ponte.store.tables import integrations, orders, skus, stock


@dataclass(frozen=True)
class Order:
    """One marketplace order as the store holds it. `items`: [{sku, quantity, price, ref?}], the lines placed."""

    id: int
    account_id: int
    affiliate_id: int
    external_id: str
    status: str  # received | placed | invoiced | cancelled | refused
    buyer: dict[str, Any]
    items: list[dict[str, Any]]
    total: Decimal
    shipping_total: Decimal
    postal_code: str
    sla: str | None
    invoice_key: str | None
    carrier: str | None
    tracking_number: str | None
    invoice_xml: str | None
    marketplace_data: dict[str, Any] | None
    received_at: datetime
    placed_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Order:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class NewOrder:
    """An order just received, as it is recorded (status `received`)."""

    account_id: int
    affiliate_id: int
    external_id: str
    status: str
    buyer: dict[str, Any]
    items: list[dict[str, Any]]
    total: Decimal
    shipping_total: Decimal
    postal_code: str
    marketplace_data: dict[str, Any] | None
    received_at: datetime
    updated_at: datetime


def find_order(conn: Connection, *, account_id: int, external_id: str, affiliate_id: int | None = None) -> Order | None:
    """The account's order of that id (from that marketplace, when given)."""
    query = select(orders).where(orders.c.account_id == account_id, orders.c.external_id == external_id)
    if affiliate_id is not None:
        query = query.where(orders.c.affiliate_id == affiliate_id)
    row = conn.execute(query).first()
    return None if row is None else Order.from_row(row)


def known_orders(conn: Connection, *, account_id: int, affiliate_id: int, external_ids: Iterable[str]) -> set[str]:
    """Which of these order ids of the marketplace are recorded already."""
    o = orders.c
    known = o.account_id == account_id, o.affiliate_id == affiliate_id, o.external_id.in_(list(external_ids))
    return set(conn.execute(select(o.external_id).where(*known)).scalars())


def insert_orders(conn: Connection, new: Sequence[NewOrder]) -> set[str]:
    """Record orders in one statement; returns the ids of those that were new.

    Two workers reading one feed may both find an order unknown: the unique key keeps the first, and the other
    learns the order was not new instead of failing its whole step."""
    names = [f.name for f in fields(NewOrder)]
    rows = [{name: getattr(order, name) for name in names} for order in new]
    stmt = upsert(conn, orders).on_conflict_do_nothing(index_elements=["account_id", "affiliate_id", "external_id"])
    return set(conn.execute(stmt.returning(orders.c.external_id), rows).scalars())


@dataclass(frozen=True)
class OpenOrder:
    """An order that can still be cancelled (received, or placed with stock reserved)."""

    id: int
    external_id: str
    status: str
    items: list[dict[str, Any]]


def open_orders(
    conn: Connection, *, account_id: int, affiliate_id: int, external_ids: Sequence[str]
) -> list[OpenOrder]:
    """The marketplace's orders of these ids that are received or placed."""
    o = orders.c
    rows = conn.execute(
        select(o.id, o.external_id, o.status, o["items"]).where(
            o.account_id == account_id,
            o.affiliate_id == affiliate_id,
            o.external_id.in_(external_ids),
            o.status.in_(("received", "placed")),
        )
    ).all()
    return [OpenOrder(r.id, r.external_id, r.status, r.items) for r in rows]


def set_order_status(conn: Connection, *, order_id: int, status: str, now: datetime) -> None:
    conn.execute(update(orders).where(orders.c.id == order_id).values(status=status, updated_at=now))


def mark_placed(
    conn: Connection,
    *,
    order_id: int,
    sla: str,
    now: datetime,
    items: list[dict[str, Any]] | None = None,
    total: Decimal | None = None,
) -> None:
    """The order is placed with this shipping rule; `items` and `total`, when given, are the lines it keeps (the
    marketplace refused the others)."""
    values: dict[str, Any] = {"status": "placed", "sla": sla, "placed_at": now, "updated_at": now}
    if items is not None:
        values["items"] = items
    if total is not None:
        values["total"] = total
    conn.execute(update(orders).where(orders.c.id == order_id).values(values))


# -- the SKUs an order's lines name ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSku:
    """What placing a line needs to know of its SKU."""

    id: int
    sku: str
    active: bool
    price: Decimal | None
    weight_g: int | None


def line_sku(conn: Connection, *, account_id: int, sku: str) -> LineSku | None:
    row = conn.execute(select(skus).where(skus.c.account_id == account_id, skus.c.sku == sku)).first()
    return None if row is None else LineSku(row.id, row.sku, row.active, row.price, row.weight_g)


def sku_ids(conn: Connection, *, account_id: int, codes: Sequence[str]) -> dict[str, int]:
    """{code: id} of the account's SKUs among `codes`."""
    query = select(skus.c.sku, skus.c.id).where(skus.c.account_id == account_id, skus.c.sku.in_(codes))
    return {str(code): int(sku_id) for code, sku_id in conn.execute(query).all()}


def is_listed(conn: Connection, *, account_id: int, affiliate_id: int, sku: str) -> bool:
    """The SKU's product was sent to the marketplace and accepted (it can be sold there)."""
    i = integrations.c
    mapped = conn.execute(
        select(i.external_ref).where(
            i.account_id == account_id,
            i.flow == Flow.PRODUCT.value,
            i.affiliate_id == affiliate_id,
            i.entity == sku,
            i.status.in_([Status.SUCCESS.value, Status.WARNING.value]),
        )
    ).first()
    return mapped is not None


# -- reservations --------------------------------------------------------------------------------------------


def free_by_warehouse(conn: Connection, *, sku_id: int) -> list[tuple[str, int]]:
    """(warehouse, quantity less reservations) of the SKU, fullest first."""
    free = stock.c.quantity - stock.c.reserved
    query = select(stock.c.warehouse, free.label("free")).where(stock.c.sku_id == sku_id).order_by(free.desc())
    return [(str(r.warehouse), int(r.free)) for r in conn.execute(query).all()]


def reserved_by_warehouse(conn: Connection, *, sku_id: int) -> list[tuple[str, int]]:
    """(warehouse, reserved) of the SKU, most reserved first."""
    query = select(stock.c.warehouse, stock.c.reserved).where(stock.c.sku_id == sku_id)
    return [(str(r.warehouse), int(r.reserved)) for r in conn.execute(query.order_by(stock.c.reserved.desc())).all()]


def add_reserved(conn: Connection, *, sku_id: int, warehouse: str, quantity: int) -> None:
    """Reserve `quantity` more units of the SKU in the warehouse (a negative one gives them back)."""
    s = stock.c
    conn.execute(
        update(stock).where(s.sku_id == sku_id, s.warehouse == warehouse).values(reserved=s.reserved + quantity)
    )
