"""Order intake: marketplace orders (from a feed, a notification or a webhook) recorded once and queued to be
validated and placed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection

from ponte.clock import now
from ponte.domain import Flow, Trigger
from ponte.engine.orders import cancel_received
from ponte.store.catalog import sku_of_listing
from ponte.store.order_book import NewOrder, insert_orders, known_orders
from ponte.store.queue import mark_changed

log = logging.getLogger("ponte.worker")


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=100_000)
    price: Decimal = Field(ge=0, le=Decimal("99999999.99"))
    ref: str | None = Field(default=None, max_length=128)  # the marketplace's id of the line (accepted line by line)


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
    # The marketplace's own facts its connector needs later (shipment id, pack): kept, never read by Ponte.
    marketplace_data: dict[str, Any] = Field(default_factory=dict)
    cancelled: bool = False  # the marketplace cancelled it: a copy Ponte holds is cancelled, a new one not recorded

    @field_validator("postal_code")
    @classmethod
    def _digits(cls, value: str) -> str:
        digits = value.replace("-", "")
        if not (digits.isdigit() and len(digits) == 8):
            raise ValueError("postal code must have 8 digits (CEP), like 01310-100")
        return digits


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
    cancelled = [order.id for order in orders_in if order.cancelled]
    if cancelled:
        cancel_received(conn, account_id=account_id, affiliate_id=affiliate_id, external_ids=cancelled)
    first: dict[str, IncomingOrder] = {}
    for order in orders_in:
        if not order.cancelled:
            first.setdefault(order.id, order)  # the same order twice in a page: the first one counts
    if not first:
        return set()
    seen = known_orders(conn, account_id=account_id, affiliate_id=affiliate_id, external_ids=first)
    when = now()
    rows = [_new_order(order, account_id, affiliate_id, when) for code, order in first.items() if code not in seen]
    if not rows:
        return set()
    # Two workers reading one feed may both get past the check above: `insert_orders` says which were new.
    added = insert_orders(conn, rows)
    mark_changed(
        conn,
        account_id=account_id,
        flow=Flow.ORDER.value,
        keys=[(affiliate_id, code) for code in added],
        trigger=Trigger.IMPORT,
        actor=actor,
    )
    return added


def _new_order(order: IncomingOrder, account_id: int, affiliate_id: int, when: datetime) -> NewOrder:
    items = [
        {"sku": i.sku, "quantity": i.quantity, "price": str(i.price)} | ({"ref": i.ref} if i.ref else {})
        for i in order.items
    ]
    total = order.total if order.total is not None else sum((i.price * i.quantity for i in order.items), Decimal(0))
    return NewOrder(
        account_id=account_id,
        affiliate_id=affiliate_id,
        external_id=order.id,
        status="received",
        buyer=order.buyer,
        items=items,
        total=total,
        shipping_total=order.shipping_total,
        postal_code=order.postal_code,
        marketplace_data=order.marketplace_data or None,
        received_at=order.created_at or when,
        updated_at=when,
    )


def record_incoming(
    conn: Connection, *, affiliate_id: int, account_id: int, code: str, raw_orders: list[dict[str, Any]]
) -> int:
    """Record orders a connector read (Ponte's incoming-order shape): items that name only the marketplace's
    listing get their SKU from the listings Ponte keeps; an order that does not validate is logged and skipped,
    the others recorded together. Returns how many were new."""
    valid = []
    for data in raw_orders:
        data = _with_skus(conn, affiliate_id, data)
        try:
            valid.append(IncomingOrder.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            log.warning("order %s from %s refused: %s: %s", data.get("id"), code, where, first["msg"])
    new = receive_orders(conn, account_id=account_id, affiliate_id=affiliate_id, orders_in=valid, actor=f"feed:{code}")
    return len(new)


def _with_skus(conn: Connection, affiliate_id: int, data: dict[str, Any]) -> dict[str, Any]:
    items = data.get("items")
    if not isinstance(items, list) or all(isinstance(i, dict) and i.get("sku") for i in items):
        return data
    resolved = []
    for item in items:
        if isinstance(item, dict) and not item.get("sku") and item.get("listing_id"):
            sku = sku_of_listing(conn, affiliate_id=affiliate_id, listing_id=str(item["listing_id"]))
            # A listing Ponte does not know keeps its marketplace id, so that the order's error names it.
            item = {**item, "sku": sku or f"?{item['listing_id']}"}
        resolved.append(item)
    return {**data, "items": resolved}
