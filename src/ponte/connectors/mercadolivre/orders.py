"""Mercado Livre's orders in Ponte's incoming-order shape.

An order (`GET /orders/{id}`: `id`, `status`, `pack_id`, `order_items[{item{id, seller_sku}, quantity,
unit_price}]`, `total_amount`, `buyer`, `shipping{id}`) no longer carries the shipment's detail: the postal code is
read from `GET /shipments/{id}` with `x-format-new: true`, and the buyer's CPF/CNPJ from
`GET /orders/{id}/billing_info` (mercadolivre.md § 4, § 5).

Cart purchases (packs): several orders share a `pack_id` and one shipment (developers.mercadolibre.com.ar/devsite/
packs). Each order stays a store order of its own, linked to its pack through `marketplace_data` (the pack id and
the shared shipment), so the NF-e goes to the shipment once for all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SEARCH_PAGE = 50  # clients use 50; the maximum is not documented (mercadolivre.md § 4)
# The search filters dates to the hour (public clients' notes), so each poll looks back an hour past the last
# change it saw; an order seen twice is recognised and recorded once.
OVERLAP = timedelta(hours=1)
FIRST_LOOK = timedelta(days=2)  # how far back the first poll of a newly connected seller looks
PLACEABLE = {"paid"}  # confirmed and paid: what a seller ships (statuses: mercadolivre.md § 4)


def ml_time(moment: datetime) -> str:
    """The date format of the order search filters: `2015-07-01T00:00:00.000-00:00`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000-00:00")


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_cursor(cursor: str | None, now: datetime) -> tuple[datetime, int]:
    """(updated since, offset) from a feed cursor `ISO-time|offset`; a seller's first poll looks back two days."""
    if cursor:
        moment, _, offset = cursor.partition("|")
        when = parse_time(moment)
        if when is not None:
            return when, int(offset) if offset.isdigit() else 0
    return now - FIRST_LOOK, 0


def next_cursor(since: datetime, offset: int, page: list[dict[str, Any]], *, more: bool) -> str:
    """Where the next read starts: the next page of this search, or a new search from the newest change seen."""
    if more:
        return f"{since.isoformat()}|{offset + len(page)}"
    seen = [t for o in page if (t := parse_time(o.get("last_updated") or o.get("date_last_updated")))]
    newest = max(seen, default=since + OVERLAP)
    return f"{max(since, newest - OVERLAP).isoformat()}|0"


def zip_code(shipment: dict[str, Any]) -> str | None:
    """The destination's postal code: `destination.shipping_address.zip_code` in the new format
    (developers.mercadolibre.com.ar/en_us/en_us/shipment-handling), `receiver_address.zip_code` in the old one."""
    destination = (shipment.get("destination") or {}).get("shipping_address") or {}
    code = destination.get("zip_code") or (shipment.get("receiver_address") or {}).get("zip_code")
    return str(code) if code else None


def incoming(order: dict[str, Any], shipment: dict[str, Any] | None, billing: dict[str, Any] | None) -> dict[str, Any]:
    """One Mercado Livre order as Ponte records it. An item without a seller SKU names its listing, and Ponte
    finds the SKU from the listings it keeps."""
    buyer = order.get("buyer") or {}
    info = (billing or {}).get("billing_info") or billing or {}
    items = []
    for line in order.get("order_items") or []:
        item = line.get("item") or {}
        items.append(
            {
                "sku": item.get("seller_sku") or None,
                "listing_id": item.get("id"),
                "quantity": line.get("quantity"),
                "price": line.get("unit_price"),
            }
        )
    logistic = ((shipment or {}).get("logistic") or {}) if shipment else {}
    name = " ".join(p for p in (buyer.get("first_name"), buyer.get("last_name")) if p) or buyer.get("nickname")
    return {
        "id": str(order["id"]),
        "status": order.get("status"),
        "created_at": order.get("date_created"),
        "items": items,
        "postal_code": zip_code(shipment or {}) or "",
        "buyer": {
            "name": name,
            "nickname": buyer.get("nickname"),
            "document": info.get("doc_number"),
            "document_type": info.get("doc_type"),
        },
        "total": order.get("total_amount"),
        "shipping_total": 0,
        "marketplace_data": {
            "shipment_id": (order.get("shipping") or {}).get("id"),
            "pack_id": order.get("pack_id"),
            "logistic_mode": logistic.get("mode") or (shipment or {}).get("mode"),
            "logistic_type": logistic.get("type") or (shipment or {}).get("logistic_type"),
        },
    }
