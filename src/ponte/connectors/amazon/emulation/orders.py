"""Orders as the emulation plays them: the current Orders API (2026-01-01: searchOrders, getOrder, each order with
its items) and Orders v0's confirmShipment (the current API has no shipment operation). Buyers are played through
`_admin/orders`; each new or changed order sends ORDER_CHANGE to the app's destination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.amazon.emulation.api import Api, Refused, answer
from ponte.connectors.amazon.emulation.listings import iso
from ponte.connectors.amazon.emulation.state import Market

BRAZIL = "A2Q3Y263D00KWC"
INCLUDED = {"BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT", "CANCELLATION", "PACKAGES"}


def _money(amount: float) -> dict[str, Any]:
    return {"amount": f"{amount:.2f}", "currencyCode": "BRL"}


def _at(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Refused(400, "InvalidInput", f"'{text}' is not an ISO 8601 date-time.")


def view(order: dict[str, Any], included: set[str]) -> dict[str, Any]:
    """An Order of the 2026-01-01 model with the datasets asked for (`includedData`)."""
    items = []
    for line in order["lines"]:
        item: dict[str, Any] = {
            "orderItemId": line["orderItemId"],
            "quantityOrdered": line["quantity"],
            "product": {
                "sellerSku": line["sku"],
                "title": line.get("title") or line["sku"],
                "price": {"unitPrice": _money(line["price"])},
            },
        }
        if "PROCEEDS" in included:
            item["proceeds"] = {"proceedsTotal": _money(line["price"] * line["quantity"])}
        if "CANCELLATION" in included and order["status"] == "CANCELLED":
            item["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": "BUYER_CANCELED"}}
        items.append(item)
    found: dict[str, Any] = {
        "orderId": order["orderId"],
        "createdTime": iso(order["created"]),
        "lastUpdatedTime": iso(order["updated"]),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": BRAZIL, "marketplaceName": "Amazon.com.br"},
        "orderItems": items,
    }
    if "FULFILLMENT" in included:
        found["fulfillment"] = {"fulfillmentStatus": order["status"], "fulfilledBy": "MERCHANT"}
    if "BUYER" in included:
        found["buyer"] = {
            "buyerName": order["buyer"].get("name") or "",
            "buyerEmail": order["buyer"].get("email") or "",
        }
    if "RECIPIENT" in included:
        found["recipient"] = {"deliveryAddress": {"postalCode": order["postal_code"], "countryCode": "BR"}}
    if "PROCEEDS" in included:
        total = sum(line["price"] * line["quantity"] for line in order["lines"]) + order["shipping_total"]
        breakdown = [{"type": "SHIPPING", "subtotal": _money(order["shipping_total"])}]
        found["proceeds"] = {"grandTotal": _money(total), "breakdowns": breakdown}
    if "PACKAGES" in included and order.get("packages"):
        found["packages"] = order["packages"]
    return found


def change_payload(market: Market, order: dict[str, Any], trigger: str) -> dict[str, Any]:
    """ORDER_CHANGE's payload (OrderChangeNotification.json)."""
    return {
        "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": order["seller_id"],
            "AmazonOrderId": order["orderId"],
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {"TimeOfOrderChange": iso(market.now()), "ChangeReason": trigger},
            "Summary": {
                "MarketplaceId": BRAZIL,
                "OrderStatus": order["status"],
                "FulfillmentType": "MFN",
                "OrderItems": [
                    {"OrderItemId": line["orderItemId"], "SellerSKU": line["sku"], "Quantity": line["quantity"]}
                    for line in order["lines"]
                ],
            },
        }
    }


class Orders(Api):
    def __init__(self, market: Market, notify: Any) -> None:
        super().__init__(market)
        self.notify = notify

    async def search(self, request: Request) -> Response:
        seller, headers = self.seller(request, "searchOrders")
        params = request.query_params
        created, updated = params.get("createdAfter"), params.get("lastUpdatedAfter")
        if bool(created) == bool(updated) and not params.get("paginationToken"):
            raise Refused(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter must be provided.")
        since = _at(created or updated or "1970-01-01T00:00:00Z")
        key = "created" if created else "updated"
        statuses = set(filter(None, params.get("fulfillmentStatuses", "").split(",")))
        found = sorted(
            (
                o for o in self.market.orders.values()
                if o["seller_id"] == seller.seller_id and o[key] >= since and (not statuses or o["status"] in statuses)
            ),
            key=lambda o: (o[key], o["orderId"]),
        )  # fmt: skip
        size = int(params.get("maxResultsPerPage") or 100)
        start = int(params.get("paginationToken") or 0)
        included = set(params.get("includedData", "").split(",")) & INCLUDED
        body: dict[str, Any] = {"orders": [view(o, included) for o in found[start : start + size]]}
        if start + size < len(found):
            body["pagination"] = {"nextToken": str(start + size)}
        return answer(body, headers=headers)

    def _order(self, request: Request, seller_id: str) -> dict[str, Any]:
        order = self.market.orders.get(request.path_params["orderId"])
        if order is None or order["seller_id"] != seller_id:
            raise Refused(404, "NotFound", f"Order {request.path_params['orderId']} not found")
        return order

    async def get(self, request: Request) -> Response:
        seller, headers = self.seller(request, "getOrder")
        order = self._order(request, seller.seller_id)
        included = set(request.query_params.get("includedData", "").split(",")) & INCLUDED
        return answer({"order": view(order, included)}, headers=headers)

    async def confirm_shipment(self, request: Request) -> Response:
        seller, headers = self.seller(request, "confirmShipment")
        order = self._order(request, seller.seller_id)
        body = await self.json(request)
        detail = body["packageDetail"]
        known = {line["orderItemId"]: line for line in order["lines"]}
        for item in detail["orderItems"]:
            if item["orderItemId"] not in known:
                raise Refused(
                    400, "InvalidInput", f"Order item {item['orderItemId']} is not in order {order['orderId']}"
                )
        with self.market.lock:
            if order["status"] == "CANCELLED":
                raise Refused(400, "InvalidInput", f"Order {order['orderId']} is canceled and cannot be shipped")
            self.market.shipments.setdefault(order["orderId"], []).append(body)
            shipped = {
                i["orderItemId"]: i["quantity"]
                for s in self.market.shipments[order["orderId"]]
                for i in s["packageDetail"]["orderItems"]
            }
            done = all(shipped.get(k, 0) >= line["quantity"] for k, line in known.items())
            order["status"] = "SHIPPED" if done else "PARTIALLY_SHIPPED"
            order["updated"] = self.market.now()
            order.setdefault("packages", []).append(
                {"packageReferenceId": str(detail["packageReferenceId"]), "carrier": detail["carrierCode"],
                 "trackingNumber": detail["trackingNumber"]}
            )  # fmt: skip
        return answer(None, 204, headers)

    # -- buyers (_admin) --------------------------------------------------------------------------------------
    async def place(self, request: Request) -> Response:
        """`{seller_id, lines:[{sku, quantity, price, title?}], postal_code, buyer?, shipping_total?, status?}`."""
        body = await self.json(request)
        market = self.market
        with market.lock:
            n = market.next_id()
            order_id = f"701-{1_000_000 + n:07d}-{(n * 7_919) % 10_000_000:07d}"
            lines = [
                {"orderItemId": f"{60_000_000_000_000 + n * 100 + i}", "sku": str(line["sku"]),
                 "quantity": int(line.get("quantity", 1)), "price": float(line["price"]), "title": line.get("title")}
                for i, line in enumerate(body["lines"])
            ]  # fmt: skip
            now = market.now()
            order = {
                "orderId": order_id, "seller_id": str(body["seller_id"]), "status": body.get("status") or "UNSHIPPED",
                "created": now, "updated": now, "lines": lines, "postal_code": str(body.get("postal_code") or "01310100"),
                "buyer": dict(body.get("buyer") or {}), "shipping_total": float(body.get("shipping_total") or 0),
            }  # fmt: skip
            market.orders[order_id] = order
        await self.notify(order["seller_id"], "ORDER_CHANGE", change_payload(market, order, "NewOrder"))
        return answer({"order_id": order_id, "order_item_ids": [line["orderItemId"] for line in lines]})

    async def status(self, request: Request) -> Response:
        """The order moves on Amazon's side (`{"status": "CANCELLED" | "UNSHIPPED" …}`): a buyer cancels, a payment
        clears."""
        order = self.market.orders.get(request.path_params["order_id"])
        if order is None:
            raise Refused(404, "NotFound", "no such order")
        body = await self.json(request)
        with self.market.lock:
            order["status"], order["updated"] = str(body["status"]), self.market.now()
        await self.notify(
            order["seller_id"], "ORDER_CHANGE", change_payload(self.market, order, "BuyerRequestedCancel")
        )
        return answer({"order_id": order["orderId"], "status": order["status"]})

    async def read(self, request: Request) -> Response:
        order = self.market.orders.get(request.path_params["order_id"])
        if order is None:
            raise Refused(404, "NotFound", "no such order")
        return answer({**view(order, INCLUDED), "shipments": self.market.shipments.get(order["orderId"], [])})
