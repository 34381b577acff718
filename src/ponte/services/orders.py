"""Orders: received from marketplaces (feed or webhook), invoiced and shipped by the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection, Row, select, update

from ponte.clock import now
from ponte.connectors.capabilities import supports
from ponte.domain import Flow, Trigger
from ponte.domain.checks import nfe_key_is_valid
from ponte.engine.queue import mark_changed
from ponte.services.catalog import input_error
from ponte.services.errors import InputError, NotFound
from ponte.store.db import upsert
from ponte.store.tables import affiliates, orders


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=100_000)
    price: Decimal = Field(ge=0, le=Decimal("99999999.99"))


class IncomingOrder(BaseModel):
    """An order as a marketplace sends it, normalised by its connector. Unknown fields are ignored:
    marketplaces add fields without notice, and an order must not be refused for that."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=64)
    items: list[OrderItem] = Field(min_length=1, max_length=500)
    postal_code: str = Field(min_length=8, max_length=9)
    buyer: dict[str, Any] = Field(default_factory=dict)
    total: Decimal | None = Field(default=None, ge=0)
    shipping_total: Decimal = Field(default=Decimal("0"), ge=0)
    created_at: datetime | None = None

    @field_validator("postal_code")
    @classmethod
    def _digits(cls, value: str) -> str:
        digits = value.replace("-", "")
        if not (digits.isdigit() and len(digits) == 8):
            raise ValueError("postal code must have 8 digits (CEP), like 01310-100")
        return digits


class TrackingInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    invoice_key: str = Field(min_length=44, max_length=44)
    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str = Field(min_length=1, max_length=64)

    @field_validator("invoice_key")
    @classmethod
    def _nfe(cls, value: str) -> str:
        if not nfe_key_is_valid(value):
            raise ValueError("not a valid NF-e access key (44 digits with a correct check digit)")
        return value


def receive_order(
    conn: Connection, *, account_id: int, affiliate_id: int, data: dict[str, Any], actor: str | None = None
) -> tuple[str, bool]:
    """Record an order from a marketplace and queue its integration. Returns (order id, is_new).

    An order already received is recognised by (affiliate, marketplace id) and never created twice.
    """
    try:
        order = IncomingOrder.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc)
    new = receive_orders(conn, account_id=account_id, affiliate_id=affiliate_id, orders_in=[order], actor=actor)
    return order.id, order.id in new


def receive_orders(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int,
    orders_in: Sequence[IncomingOrder],
    actor: str | None = None,
) -> set[str]:
    """Record a page of orders from one marketplace and queue the new ones, in a few statements whatever the
    page's size (a feed's page on a sale day holds hundreds). Returns the ids of the orders that were new."""
    first: dict[str, IncomingOrder] = {}
    for order in orders_in:
        first.setdefault(order.id, order)  # the same order twice in a page: the first one counts
    if not first:
        return set()
    o = orders.c
    known = o.account_id == account_id, o.affiliate_id == affiliate_id, o.external_id.in_(list(first))
    seen = set(conn.execute(select(o.external_id).where(*known)).scalars())
    when = now()
    rows = [_order_row(order, account_id, affiliate_id, when) for code, order in first.items() if code not in seen]
    if not rows:
        return set()
    # Two workers reading one feed may both get past the check above: the unique key keeps the first, and the
    # other learns the order was not new instead of failing its whole step.
    stmt = upsert(conn, orders).on_conflict_do_nothing(index_elements=["account_id", "affiliate_id", "external_id"])
    added = set(conn.execute(stmt.returning(o.external_id), rows).scalars())
    mark_changed(
        conn,
        account_id=account_id,
        flow=Flow.ORDER.value,
        keys=[(affiliate_id, code) for code in added],
        trigger=Trigger.IMPORT,
        actor=actor,
    )
    return added


def _order_row(order: IncomingOrder, account_id: int, affiliate_id: int, when: datetime) -> dict[str, Any]:
    items = [{"sku": i.sku, "quantity": i.quantity, "price": str(i.price)} for i in order.items]
    total = order.total if order.total is not None else sum((i.price * i.quantity for i in order.items), Decimal(0))
    return {
        "account_id": account_id,
        "affiliate_id": affiliate_id,
        "external_id": order.id,
        "status": "received",
        "buyer": order.buyer,
        "items": items,
        "total": total,
        "shipping_total": order.shipping_total,
        "postal_code": order.postal_code,
        "received_at": order.created_at or when,
        "updated_at": when,
    }


def get_order(conn: Connection, *, account_id: int, external_id: str, affiliate_code: str | None = None) -> Row:
    query = (
        select(orders, affiliates.c.code.label("affiliate_code"), affiliates.c.name.label("affiliate_name"))
        .join(affiliates, affiliates.c.id == orders.c.affiliate_id)
        .where(orders.c.account_id == account_id, orders.c.external_id == external_id)
    )
    if affiliate_code:
        query = query.where(affiliates.c.code == affiliate_code)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"order {external_id} not found")
    return row


def set_tracking(
    conn: Connection, *, account_id: int, external_id: str, data: dict[str, Any], actor: str | None = None
) -> None:
    """Record an order's invoice and tracking and queue sending them to its marketplace."""
    try:
        tracking = TrackingInput.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc)
    order = get_order(conn, account_id=account_id, external_id=external_id)
    if order.status not in ("placed", "invoiced"):
        raise InputError(f"order {external_id} is {order.status}: only a placed order can be invoiced", field="status")
    conn.execute(
        update(orders)
        .where(orders.c.id == order.id)
        .values(**tracking.model_dump(), status="invoiced", updated_at=now())
    )
    source = conn.execute(
        select(affiliates.c.connector, affiliates.c.kind).where(affiliates.c.id == order.affiliate_id)
    ).one()
    if supports(source.connector, Flow.TRACKING.value, source.kind):  # a connector that cannot is never asked
        mark_changed(
            conn, account_id=account_id, flow=Flow.TRACKING.value, keys=[(order.affiliate_id, external_id)], actor=actor
        )


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"{value!r} is not an amount of money")
