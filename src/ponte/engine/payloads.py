"""What each flow sends, built from the store's current data at the moment of sending (never a stale copy)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, select

from ponte.services.catalog import available_stock, available_stocks
from ponte.store.tables import orders, skus


class EntityGone(LookupError):
    """The SKU or order behind an integration no longer exists in the store."""


def _sku(conn: Connection, account_id: int, code: str) -> Row:
    row = conn.execute(select(skus).where(skus.c.account_id == account_id, skus.c.sku == code)).first()
    if row is None:
        raise EntityGone(f"SKU {code} no longer exists in the store catalog")
    return row


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def product_payload(conn: Connection, account_id: int, code: str) -> dict[str, Any]:
    return product_body(_sku(conn, account_id, code))


def product_body(row: Row) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "name": row.name,
        "brand": row.brand,
        "category": row.category,
        "ean": row.ean,
        "description": row.description,
        "attributes": dict(row.attributes or {}),
        "images": list(row.images or []),
        "weight_g": row.weight_g,
        "height_cm": _num(row.height_cm),
        "width_cm": _num(row.width_cm),
        "length_cm": _num(row.length_cm),
        "active": row.active,
    }


def price_payload(conn: Connection, account_id: int, code: str) -> dict[str, Any]:
    return price_body(_sku(conn, account_id, code))


def price_body(row: Row) -> dict[str, Any]:
    return {"sku": row.sku, "list_price": _num(row.list_price), "price": _num(row.price)}


def inventory_payload(
    conn: Connection, account_id: int, code: str, min_availability: int | None
) -> tuple[dict, str | None]:
    """The stock to send, and a warning when the minimum-availability rule replaced it with 0."""
    row = _sku(conn, account_id, code)
    return inventory_body(row, available_stock(conn, sku_id=row.id) if row.active else 0, min_availability)


def inventory_body(row: Row, quantity: int, min_availability: int | None) -> tuple[dict, str | None]:
    warning = None
    if min_availability is not None and 0 < quantity <= min_availability:
        # The affiliate's minimum-availability rule: below the line, sell nothing rather than oversell.
        warning = f"Available stock {quantity} is at or below the minimum of {min_availability}: 0 was sent"
        quantity = 0
    return {"sku": row.sku, "quantity": quantity, "handling_days": row.handling_days}, warning


class Catalog:
    """The SKUs (and their available stock) a batch of sends needs, read in one transaction with two queries.

    Built right after the batch is claimed: a change landing after this read moves the integration's change
    number, so the row stays pending and the newer data is sent next (see `queue.finish`).
    """

    def __init__(self, conn: Connection, keys: Iterable[tuple[int, str]], *, stock_of: Iterable[tuple[int, str]]):
        by_account: dict[int, set[str]] = {}
        for account_id, code in keys:
            by_account.setdefault(account_id, set()).add(code)
        self.skus: dict[tuple[int, str], Row] = {}
        for account_id, codes in by_account.items():
            query = select(skus).where(skus.c.account_id == account_id, skus.c.sku.in_(codes))
            self.skus.update({(account_id, r.sku): r for r in conn.execute(query)})
        ids = {self.skus[k].id for k in stock_of if k in self.skus and self.skus[k].active}
        self.stock = available_stocks(conn, sku_ids=ids)

    def _sku(self, account_id: int, code: str) -> Row:
        row = self.skus.get((account_id, code))
        if row is None:
            raise EntityGone(f"SKU {code} no longer exists in the store catalog")
        return row

    def product(self, account_id: int, code: str) -> dict[str, Any]:
        return product_body(self._sku(account_id, code))

    def price(self, account_id: int, code: str) -> dict[str, Any]:
        return price_body(self._sku(account_id, code))

    def inventory(self, account_id: int, code: str, min_availability: int | None) -> tuple[dict, str | None]:
        row = self._sku(account_id, code)
        return inventory_body(row, self.stock.get(row.id, 0) if row.active else 0, min_availability)


def order_row(conn: Connection, account_id: int, affiliate_id: int | None, external_id: str) -> Row:
    query = select(orders).where(orders.c.account_id == account_id, orders.c.external_id == external_id)
    if affiliate_id is not None:
        query = query.where(orders.c.affiliate_id == affiliate_id)
    row = conn.execute(query).first()
    if row is None:
        raise EntityGone(f"order {external_id} no longer exists in the store")
    return row


def tracking_payload(conn: Connection, account_id: int, affiliate_id: int, external_id: str) -> dict[str, Any]:
    row = order_row(conn, account_id, affiliate_id, external_id)
    return {
        "order_id": row.external_id,
        "invoice_key": row.invoice_key,
        "carrier": row.carrier,
        "tracking_number": row.tracking_number,
        "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in row.items],
    }


def erp_order_payload(order: Row, affiliate_code: str) -> dict[str, Any]:
    """A placed order as handed to an ERP."""
    return {
        "order_id": order.external_id,
        "marketplace": affiliate_code,
        "status": order.status,
        "buyer": order.buyer,
        "items": order.items,
        "total": _num(order.total),
        "shipping_total": _num(order.shipping_total),
        "postal_code": order.postal_code,
        "sla": order.sla,
        "placed_at": order.placed_at.isoformat() if order.placed_at else None,
    }
