"""Amazon's orders in Ponte's incoming-order shape, and the shipment confirmation Amazon asks for.

Orders are read with the Orders API the models mark current, 2026-01-01 (`searchOrders`, `getOrder`: each order
carries its items, so no call per order); its `includedData` brings the buyer, the delivery address, the proceeds
and the fulfilment status. It has no shipment operation: the confirmation goes by Orders v0's `confirmShipment`
(carrier, tracking number, ship date and the order items shipped).

An order still PENDING (or PENDING_AVAILABILITY) has no payment authorised: Amazon asks sellers not to ship it, so
Ponte leaves it until it is UNSHIPPED. A CANCELLED one is given to Ponte as cancelled: the store cancels its copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ponte.connectors.base import TrackingSend

INCLUDED = ["BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT", "CANCELLATION"]
WAITING = {"PENDING", "PENDING_AVAILABILITY"}  # payment not authorised yet: not to be shipped
CANCELLED = {"CANCELLED", "UNFULFILLABLE"}


def _amount(money: Any) -> Decimal | None:
    if not isinstance(money, Mapping):
        return None
    try:
        return Decimal(str(money.get("amount")))
    except InvalidOperation:
        return None


def status_of(order: Mapping[str, Any]) -> str:
    return str(((order.get("fulfillment") or {}).get("fulfillmentStatus")) or "")


def incoming_order(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """One order of searchOrders/getOrder in Ponte's shape; None while its payment is pending."""
    status = status_of(order)
    if status in WAITING:
        return None
    items = []
    for item in order.get("orderItems") or []:
        product = item.get("product") or {}
        price = _amount((product.get("price") or {}).get("unitPrice")) or Decimal(0)
        items.append(
            {
                "sku": str(product.get("sellerSku") or ""),
                "quantity": int(item.get("quantityOrdered") or 0),
                "price": price,
                "ref": str(item.get("orderItemId")),
            }
        )
    proceeds = order.get("proceeds") or {}
    shipping = sum(
        (
            _amount(b.get("subtotal")) or Decimal(0)
            for b in proceeds.get("breakdowns") or []
            if b.get("type") == "SHIPPING"
        ),
        Decimal(0),
    )
    buyer = order.get("buyer") or {}
    address = (order.get("recipient") or {}).get("deliveryAddress") or {}
    found: dict[str, Any] = {
        "id": str(order["orderId"]),
        "items": items,
        "postal_code": str(address.get("postalCode") or ""),
        "buyer": {k: v for k, v in {"name": buyer.get("buyerName"), "email": buyer.get("buyerEmail")}.items() if v},
        "total": _amount(proceeds.get("grandTotal")),
        "shipping_total": shipping,
        "created_at": order.get("createdTime"),
        "marketplace_data": {
            "order_item_ids": {i["sku"]: i["ref"] for i in items},
            "fulfillment_status": status,
            "marketplace_id": (order.get("salesChannel") or {}).get("marketplaceId"),
        },
    }
    if status in CANCELLED:
        found["cancelled"] = True
    return found


def newest(orders: Sequence[Mapping[str, Any]], since: str) -> str:
    """The latest `lastUpdatedTime` of a page (the next poll's `lastUpdatedAfter`), never earlier than `since`."""
    times = [since] + [str(o.get("lastUpdatedTime")) for o in orders if o.get("lastUpdatedTime")]
    return max(times, key=instant)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def confirmation(send: TrackingSend, *, marketplace_id: str, carrier: str, ship_date: str) -> dict[str, Any]:
    """confirmShipment's body (ordersV0.json, ConfirmShipmentRequest): every item of the order in one package."""
    ids = dict(send.marketplace_data.get("order_item_ids") or {})
    return {
        "marketplaceId": marketplace_id,
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": carrier,
            "carrierName": send.carrier or carrier,
            "trackingNumber": send.tracking_number,
            "shipDate": ship_date,
            "orderItems": [
                {"orderItemId": str(ids[i.sku]), "quantity": i.quantity} for i in send.items if i.sku in ids
            ],
        },
    }
