"""Amazon's notifications as they reach Ponte's endpoint (`POST /notifications/amazon`).

SP-API delivers notifications to an SQS queue or to Amazon EventBridge (amazon-sp-api.md § 6); an EventBridge rule
with an API destination posts each event to an HTTPS endpoint, the notification in the event's `detail`. Both the
event and a bare notification (an SQS message's body relayed as it is) are read. Only ids are kept — the seller,
and the order or the SKU — since nothing in an unsigned body is believed: the order is read with getOrder, the
listing with getListingsItem, with the seller's token.
"""

from __future__ import annotations

from typing import Any

from ponte.connectors.base import Notice, notice_body

ORDER_CHANGE = "ORDER_CHANGE"
LISTINGS_ITEM_ISSUES_CHANGE = "LISTINGS_ITEM_ISSUES_CHANGE"


def _text(value: Any, limit: int = 64) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def read(body: bytes) -> Notice | None:
    """The ids of an ORDER_CHANGE or LISTINGS_ITEM_ISSUES_CHANGE notification; None for another type."""
    data = notice_body(body)
    detail = data.get("detail")
    notification: dict[str, Any] = detail if isinstance(detail, dict) else data
    kind = notification.get("NotificationType")
    payload = notification.get("Payload")
    if not isinstance(payload, dict):
        return None
    if kind == ORDER_CHANGE:
        change = payload.get("OrderChangeNotification") or {}
        seller, order = _text(change.get("SellerId")), _text(change.get("AmazonOrderId"))
        if seller is None or order is None:
            raise ValueError("ORDER_CHANGE without SellerId and AmazonOrderId")
        return Notice(subject=seller, topic=ORDER_CHANGE, resource=order)
    if kind == LISTINGS_ITEM_ISSUES_CHANGE:
        seller, sku = _text(payload.get("SellerId")), _text(payload.get("Sku"))
        if seller is None or sku is None:
            raise ValueError("LISTINGS_ITEM_ISSUES_CHANGE without SellerId and Sku")
        return Notice(subject=seller, topic=LISTINGS_ITEM_ISSUES_CHANGE, resource=sku)
    return None
