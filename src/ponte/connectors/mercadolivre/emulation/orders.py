"""Orders, shipments, NF-e upload and ME1 tracking, and the buyers the tests play (mercadolivre.md § 4–6)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.mercadolivre.emulation import rules
from ponte.connectors.mercadolivre.emulation.api import MeliHandlers, Refused, answer, json_body
from ponte.connectors.mercadolivre.emulation.rules import Cause
from ponte.connectors.mercadolivre.emulation.state import Order, Shipment
from ponte.domain.checks import nfe_key_is_valid

_KEY = re.compile(r"(?:Id=\"NFe|<chNFe>)(\d{44})")
ME1_STATUSES = {("shipped", None), ("delivered", None), ("not_delivered", "returning_to_sender")}  # [O]


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.000-00:00")


def _parse(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Refused(400, f"invalid date {text}", "bad_request")


def _order_of(h: MeliHandlers, seller_id: int, order_id: str) -> Order:
    order = h.state.orders.get(int(order_id)) if order_id.isdigit() else None
    if order is None or order.seller_id != seller_id:
        raise Refused(404, "Order not found.", "order_not_found")
    return order


async def search(h: MeliHandlers, request: Request) -> Response:
    """`GET /orders/search?seller=&order.status=&order.date_last_updated.from=&sort=&limit=&offset=`."""
    _, seller = h.caller(request)
    q = request.query_params
    if q.get("seller") != str(seller.user_id):
        raise Refused(403, "The caller is not authorized to access this resource", "forbidden")
    status = q.get("order.status")
    created_from = _parse(q.get("order.date_created.from"))
    updated_from = _parse(q.get("order.date_last_updated.from"))
    found = [
        o
        for o in h.state.orders.values()
        if o.seller_id == seller.user_id
        and (status is None or o.body["status"] == status)
        and (created_from is None or o.body["_created"] >= created_from)
        and (updated_from is None or o.body["_updated"] >= updated_from)
    ]
    found.sort(key=lambda o: (o.body["_created"], o.id), reverse=q.get("sort") == "date_desc")
    offset, limit = int(q.get("offset") or 0), min(int(q.get("limit") or 50), 51)
    page = [_public(o) for o in found[offset : offset + limit]]
    return answer(
        {
            "query": None,
            "results": page,
            "sort": {"id": q.get("sort") or "date_asc", "name": "Date ascending"},
            "paging": {"total": len(found), "offset": offset, "limit": limit},
            "display": "complete",
        }
    )


def _public(order: Order) -> dict[str, Any]:
    return {k: v for k, v in order.body.items() if not k.startswith("_")}


async def read(h: MeliHandlers, request: Request) -> Response:
    _, seller = h.caller(request)
    return answer(_public(_order_of(h, seller.user_id, request.path_params["order_id"])))


async def billing_info(h: MeliHandlers, request: Request) -> Response:
    _, seller = h.caller(request)
    order = _order_of(h, seller.user_id, request.path_params["order_id"])
    return answer({"billing_info": order.billing})


def _shipment_of(h: MeliHandlers, seller_id: int, shipment_id: str) -> Shipment:
    shipment = h.state.shipments.get(int(shipment_id)) if shipment_id.isdigit() else None
    orders = [h.state.orders[o] for o in shipment.order_ids] if shipment else []
    if shipment is None or any(o.seller_id != seller_id for o in orders):
        raise Refused(404, f"Shipment {shipment_id} not found", "shipment.not_found")
    return shipment


async def shipment(h: MeliHandlers, request: Request) -> Response:
    """`GET /shipments/{id}` (the current shape with `x-format-new: true`, the old one without)."""
    _, seller = h.caller(request)
    s = _shipment_of(h, seller.user_id, request.path_params["shipment_id"])
    address = {"zip_code": s.zip_code, "city": {"name": "São Paulo"}, "state": {"id": "BR-SP"}, "country": {"id": "BR"}}
    if request.headers.get("x-format-new") == "true":
        return answer(
            {
                "id": s.id,
                "status": s.status,
                "substatus": s.substatus,
                "logistic": {
                    "direction": "forward",
                    "mode": s.mode,
                    "type": "drop_off" if s.mode == "me2" else "default",
                },
                "tracking_number": s.tracking_number,
                "destination": {"type": "buying_address", "shipping_address": address},
                "origin": {"type": "selling_address"},
            }
        )
    return answer(
        {"id": s.id, "status": s.status, "substatus": s.substatus, "mode": s.mode, "receiver_address": address}
    )


async def invoice_data(h: MeliHandlers, request: Request) -> Response:
    """`POST /shipments/{id}/invoice_data?siteId=MLB` with the NF-e XML as the body; `GET` reads what was sent."""
    _, seller = h.caller(request)
    s = _shipment_of(h, seller.user_id, request.path_params["shipment_id"])
    if request.query_params.get("siteId") != rules.SITE:
        raise Refused(400, "siteId is required", "bad_request")
    if request.method == "GET":
        if s.invoice is None:
            raise Refused(404, f"Invoice data not found for shipment {s.id}", "not_found")
        return answer({"id": s.invoice["id"], "status": s.invoice["status"]})
    if not request.headers.get("content-type", "").startswith(("application/xml", "text/xml")):
        raise Refused(400, "the NF-e must be sent as XML (Content-Type: application/xml)", "bad_request")
    if s.mode != "me2":
        raise Refused(
            400,
            "Validation error",
            "validation_error",
            [Cause("shipment.invoice.invalid", f"Shipment {s.id} is not Mercado Envios 2")],
        )
    if s.invoice is not None:
        raise Refused(
            409,
            "Validation error",
            "validation_error",
            [Cause("shipment.invoice.already_uploaded", f"Shipment {s.id} already has an invoice")],
        )
    xml = (await request.body()).decode("utf-8", "replace")
    found = _KEY.search(xml)
    if found is None or not nfe_key_is_valid(found.group(1)):
        key = found.group(1) if found else "—"
        raise Refused(
            400,
            "Validation error",
            "validation_error",
            [Cause("shipment.invoice.invalid", f"Pedido com chave da nota inválida ({key})")],
        )
    if any(h.state.orders[o].body["status"] == "cancelled" for o in s.order_ids):
        raise Refused(
            400,
            "Validation error",
            "validation_error",
            [Cause("shipment.status.invalid", f"Shipment {s.id} belongs to a cancelled order")],
        )
    with h.state.lock:
        s.invoice = {
            "id": 400_000_000_000 + h.state.next_number(),
            "status": "approved",
            "key": found.group(1),
            "xml": xml,
        }
        s.status, s.substatus = "ready_to_ship", "ready_to_print"
    return answer({"id": s.invoice["id"], "status": "approved"}, 201)


async def seller_notifications(h: MeliHandlers, request: Request) -> Response:
    """ME1: `POST /shipments/{id}/seller_notifications` with the carrier's tracking (mercadolivre.md § 5)."""
    _, seller = h.caller(request)
    s = _shipment_of(h, seller.user_id, request.path_params["shipment_id"])
    body = await json_body(request)
    if s.mode != "me1":
        raise Refused(
            400,
            "Validation error",
            "validation_error",
            [Cause("shipment.status.invalid", f"Shipment {s.id} is not ME1")],
        )
    if (body.get("status"), body.get("substatus")) not in ME1_STATUSES:
        raise Refused(
            400,
            "Validation error",
            "validation_error",
            [Cause("shipment.status.invalid", f"Invalid status {body.get('status')}")],
        )
    if not body.get("tracking_number"):
        raise Refused(
            400,
            "Validation error",
            "validation_error",
            [Cause("shipment.tracking_number.missing", "tracking number is required")],
        )
    if any(h.state.orders[o].body["status"] == "cancelled" for o in s.order_ids):
        raise Refused(
            400,
            "Validation error",
            "validation_error",
            [Cause("shipment.status.invalid", f"Shipment {s.id} belongs to a cancelled order")],
        )
    with h.state.lock:
        s.tracking_number, s.status, s.substatus = str(body["tracking_number"]), str(body["status"]), None
        s.notifications.append(body)
    return answer({"status": "OK"})


# -- the buyers tests play (not an API path) -------------------------------------------------------------


async def place(h: MeliHandlers, request: Request) -> Response:
    """`POST /_admin/orders` `{seller_id, items[{item_id, quantity, unit_price?}], zip_code?, buyer?, mode?,
    pack?, status?, notify?}`: a buyer's purchase; `notify` posts the orders_v2 notification that many times."""
    body = await json_body(request)
    seller_id = int(body.get("seller_id") or 0)
    if seller_id not in h.state.sellers:
        raise Refused(404, f"seller {seller_id} not found", "not_found")
    lines = body.get("items") or []
    if body.get("pack"):  # a cart: one order per line, sharing a pack and a shipment
        body = {**body, "pack_id": 2_000_000_000_000_000 + h.state.next_number()}
    orders = [_new_order(h, seller_id, body, line) for line in (lines if body.get("pack") else [lines])]
    shipment = _new_shipment(
        h, [o.id for o in orders], str(body.get("mode") or "me2"), str(body.get("zip_code") or "01310100")
    )
    for order in orders:
        order.body["shipping"] = {"id": shipment.id}
    times = int(body.get("notify", 1))
    for order in orders:
        for _ in range(times):
            await notify(h, order.seller_id, f"/orders/{order.id}")
    return answer(
        {"orders": [o.id for o in orders], "pack_id": orders[0].body["pack_id"], "shipment_id": shipment.id}, 201
    )


def _new_order(h: MeliHandlers, seller_id: int, body: dict[str, Any], lines: Any) -> Order:
    lines = lines if isinstance(lines, list) else [lines]
    with h.state.lock:
        number = h.state.next_number()
        order_items = []
        for line in lines:
            item = h.state.items.get(str(line.get("item_id")))
            if item is None:
                raise Refused(404, f"Item {line.get('item_id')} not found", "not_found")
            quantity = int(line.get("quantity") or 1)
            item.body["available_quantity"] = max(0, int(item.body.get("available_quantity") or 0) - quantity)
            item.sold_quantity += quantity
            sku = next(
                (a.get("value_name") for a in item.body.get("attributes") or [] if a.get("id") == "SELLER_SKU"), None
            )
            order_items.append(
                {
                    "item": {"id": item.id, "title": item.body.get("title"), "variation_id": None, "seller_sku": sku},
                    "quantity": quantity,
                    "unit_price": float(line.get("unit_price") or item.body.get("price") or 0),
                    "currency_id": "BRL",
                }
            )
        now = h.state.clock()
        buyer = body.get("buyer") or {}
        status = str(body.get("status") or "paid")
        pack_id = body.get("pack_id")
        order = Order(
            id=2_000_000_000 + number,
            seller_id=seller_id,
            body={
                "id": 2_000_000_000 + number,
                "status": status,
                "status_detail": None,
                "date_created": _iso(now),
                "date_closed": _iso(now),
                "last_updated": _iso(now),
                "pack_id": pack_id,
                "order_items": order_items,
                "total_amount": round(
                    sum(float(str(i["unit_price"])) * int(str(i["quantity"])) for i in order_items), 2
                ),
                "currency_id": "BRL",
                "buyer": {
                    "id": 700_000 + number,
                    "nickname": buyer.get("nickname", f"COMPRADOR{number}"),
                    "first_name": buyer.get("first_name", "Ana"),
                    "last_name": buyer.get("last_name", "Souza"),
                },
                "payments": [{"id": 90_000_000 + number, "status": "approved" if status == "paid" else "pending"}],
                "tags": ["pack_order", "paid"] if pack_id else ["paid"],
                "_created": now,
                "_updated": now,
            },
            billing={"doc_type": buyer.get("doc_type", "CPF"), "doc_number": buyer.get("doc_number", "52998224725")},
        )
        h.state.orders[order.id] = order
    return order


def _new_shipment(h: MeliHandlers, order_ids: list[int], mode: str, zip_code: str) -> Shipment:
    with h.state.lock:
        shipment = Shipment(
            id=40_000_000_000 + h.state.next_number(), order_ids=order_ids, mode=mode, zip_code=zip_code
        )
        h.state.shipments[shipment.id] = shipment
    return shipment


async def set_status(h: MeliHandlers, request: Request) -> Response:
    """`POST /_admin/orders/{id}/status` `{status, notify?}`: the buyer paid, or cancelled."""
    body = await json_body(request)
    order = h.state.orders.get(int(request.path_params["order_id"]))
    if order is None:
        raise Refused(404, "Order not found.", "order_not_found")
    with h.state.lock:
        order.body["status"] = str(body.get("status"))
        order.body["last_updated"] = _iso(h.state.clock())
        order.body["_updated"] = h.state.clock()
    if body.get("notify", True):
        await notify(h, order.seller_id, f"/orders/{order.id}")
    return answer(_public(order))


async def notify(h: MeliHandlers, seller_id: int, resource: str) -> None:
    """Post an orders_v2 notification to every app the seller authorised that registered a callback
    (mercadolivre.md § 6: `resource`, `user_id`, `topic`, `application_id`, `attempts`, `sent`, `received`)."""
    apps = {t.client_id for t in h.state.tokens.values() if t.user_id == seller_id}
    apps |= {t.client_id for t in h.state.refresh.values() if t.user_id == seller_id}
    for client_id in sorted(apps):
        app = h.state.apps.get(client_id)
        if app is None or not app.callback_url:
            continue
        status: int | str
        stamp = _iso(h.state.clock())
        body = {
            "resource": resource,
            "user_id": seller_id,
            "topic": "orders_v2",
            "application_id": int(client_id) if client_id.isdigit() else client_id,
            "attempts": 1,
            "sent": stamp,
            "received": stamp,
        }
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                status = (await client.post(app.callback_url, json=body)).status_code
        except httpx.HTTPError as exc:
            status = f"failed: {exc}"
        h.state.delivered.append({"to": app.callback_url, "body": body, "status": status})
