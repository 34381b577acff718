"""Orders on the sandbox: a buyer places and cancels them, the seller reads the feed, acknowledges and ships."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.sandbox import catalog
from ponte.sandbox.answers import ApiError, integer, json_response, number, text
from ponte.sandbox.state import Order

if TYPE_CHECKING:
    from ponte.sandbox.app import Sandbox

FEED_LIMIT = 100


def _order(sb: Sandbox, profile: str, order_id: str, seller_id: str | None = None) -> Order:
    order = sb.state.markets[profile].orders.get(order_id)
    if order is None or (seller_id is not None and order.seller_id != seller_id):
        raise ApiError("order_not_found", {"order_id": order_id}, 404)
    return order


def _order_items(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise ApiError("bad_request", {"detail": "items must be a non-empty list"})
    items = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ApiError("bad_request", {"detail": "each item must be an object"})
        quantity = integer(entry, "quantity")
        if quantity <= 0:
            raise ApiError("bad_request", {"detail": "quantity must be positive"})
        items.append({"sku": text(entry, "sku"), "quantity": quantity, "price": number(entry, "price")})
    return items


async def place_order(sb: Sandbox, request: Request) -> Response:
    """Buyer helper: `{seller, items: [{sku, quantity, price}], postal_code, buyer, shipping_total?}` → 201."""
    profile = sb.profile(request)
    body = await sb.body(request)
    items = _order_items(body.get("items"))
    shipping = number(body, "shipping_total") if "shipping_total" in body else 0.0
    buyer = body.get("buyer") or {}
    if not isinstance(buyer, dict):
        raise ApiError("bad_request", {"detail": "buyer must be an object"})
    total = round(sum(i["quantity"] * i["price"] for i in items) + shipping, 2)
    order = sb.state.add_order(
        profile.name,
        profile.order_id,
        seller_id=text(body, "seller"),
        items=items,
        postal_code=str(body.get("postal_code") or ""),
        buyer=buyer,
        shipping_total=shipping,
        total=total,
    )
    return json_response({"id": order.id, "order": profile.order_view(order)}, 201)


async def cancel_order(sb: Sandbox, request: Request) -> Response:
    """Buyer helper: cancel an order that has not shipped."""
    profile = sb.profile(request)
    with sb.state.lock:
        order = _order(sb, profile.name, request.path_params["order_id"])
        if order.status == "shipped":
            raise ApiError("bad_request", {"detail": f"order {order.id} has shipped"}, 409)
        order.status = "cancelled"
    return json_response({"id": order.id, "order": profile.order_view(order)})


async def feed(sb: Sandbox, request: Request) -> Response:
    """The seller's new orders after the `since` cursor, in the profile's own shape."""
    profile = sb.profile(request)
    seller = sb.seller(request, profile)
    since, limit = request.query_params.get("since") or "0", request.query_params.get("limit") or "50"
    if not since.isdigit() or not limit.isdigit():
        raise ApiError("bad_request", {"detail": "since and limit must be whole numbers"})
    orders, position = sb.state.feed_page(
        profile.name, seller.seller_id, int(since), min(FEED_LIMIT, max(1, int(limit)))
    )
    with sb.state.lock:
        views = [profile.order_view(o) for o in orders]
    return json_response(profile.feed_view(views, str(position)))


async def acknowledge(sb: Sandbox, request: Request) -> Response:
    """`{status: integrated|rejected, message}`: the seller says what became of the order."""
    profile = sb.profile(request)
    seller = sb.seller(request, profile)
    body = await sb.body(request)
    status = body.get("status")
    if status not in ("integrated", "rejected"):
        raise ApiError("bad_request", {"detail": "status must be integrated or rejected"})
    with sb.state.lock:
        order = _order(sb, profile.name, request.path_params["order_id"], seller.seller_id)
        if order.status == "cancelled":
            raise ApiError("order_cancelled", {"order_id": order.id}, 409)
        order.ack = {"status": status, "message": str(body.get("message") or "")}
        if order.status == "new":
            order.status = "acknowledged"
    return json_response({"id": order.id, "status": order.status, "ack": order.ack})


async def ship(sb: Sandbox, request: Request) -> Response:
    """`{invoice_key, carrier, tracking_number, items?}`: record a shipment after checking the NF-e key."""
    profile = sb.profile(request)
    seller = sb.seller(request, profile)
    body = await sb.body(request)
    with sb.state.lock:
        order = _order(sb, profile.name, request.path_params["order_id"], seller.seller_id)
        if order.status == "cancelled":
            raise ApiError("order_cancelled", {"order_id": order.id}, 409)
        if not str(body.get("tracking_number") or "").strip():
            raise ApiError("tracking_missing")
        if not catalog.nfe_key_is_valid(body.get("invoice_key")):
            raise ApiError("invoice_invalid", {"key": body.get("invoice_key")})
        _check_shipped_items(order, body.get("items"))
        shipment = {
            "id": f"{order.id}-S{len(order.shipments) + 1}",
            "invoice_key": body["invoice_key"],
            "carrier": str(body.get("carrier") or ""),
            "tracking_number": str(body["tracking_number"]),
        }
        order.shipments.append(shipment)
        order.status = "shipped"
    return json_response({"order_id": order.id, "shipment_id": shipment["id"], "status": "shipped"}, 201)


def _check_shipped_items(order: Order, items: Any) -> None:
    if not items:
        return
    if not isinstance(items, list):
        raise ApiError("bad_request", {"detail": "items must be a list"})
    ordered: dict[str, int] = {}
    for line in order.items:
        ordered[line["sku"]] = ordered.get(line["sku"], 0) + line["quantity"]
    for entry in items:
        sku = str(entry.get("sku")) if isinstance(entry, dict) else "?"
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        if sku not in ordered or not isinstance(quantity, int) or not 0 < quantity <= ordered[sku]:
            detail = f"ordered {ordered.get(sku, 0)}, invoiced {quantity}"
            raise ApiError("shipment_items_mismatch", {"sku": sku, "detail": detail})


async def admin_order(sb: Sandbox, request: Request) -> Response:
    """Test helper: everything the sandbox knows of an order, acknowledgement and shipments included."""
    profile = sb.profile(request)
    with sb.state.lock:
        order = _order(sb, profile.name, request.path_params["order_id"])
        data = {
            "id": order.id,
            "seller": order.seller_id,
            "status": order.status,
            "ack": order.ack,
            "shipments": list(order.shipments),
            "items": order.items,
            "total": order.total,
        }
    return json_response(data)
