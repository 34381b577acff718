"""Test helpers of the emulation (`/mercadolivre/_admin/…`): what the DevCenter, the seller's account page and the
buyers do on the real Mercado Livre."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.mercadolivre.emulation import items, orders
from ponte.connectors.mercadolivre.emulation.api import MeliHandlers, Refused, answer, json_body
from ponte.connectors.mercadolivre.emulation.state import App, Seller


async def register_app(h: MeliHandlers, request: Request) -> Response:
    """`{client_id, client_secret, redirect_uris, callback_url?, pkce_required?}`: an app as made in the DevCenter."""
    body = await json_body(request)
    app = App(
        client_id=str(body["client_id"]),
        client_secret=str(body["client_secret"]),
        redirect_uris=[str(u) for u in body.get("redirect_uris") or []],
        callback_url=body.get("callback_url"),
        pkce_required=bool(body.get("pkce_required")),
    )
    with h.state.lock:
        h.state.apps[app.client_id] = app
    return answer({"client_id": app.client_id}, 201)


async def register_seller(h: MeliHandlers, request: Request) -> Response:
    """`{user_id, nickname, tags?, approved_brands?}`: a test seller who can approve apps."""
    body = await json_body(request)
    seller = Seller(
        user_id=int(body["user_id"]),
        nickname=str(body.get("nickname") or f"VENDEDOR{body['user_id']}"),
        tags=[str(t) for t in body.get("tags") or ["normal"]],
        approved_brands={str(b) for b in body.get("approved_brands") or []},
    )
    with h.state.lock:
        h.state.sellers[seller.user_id] = seller
    return answer({"user_id": seller.user_id}, 201)


async def grant(h: MeliHandlers, request: Request) -> Response:
    """`{client_id, user_id}`: tokens as if the seller had approved the app (for tests that are not about consent)."""
    body = await json_body(request)
    if str(body.get("client_id")) not in h.state.apps or int(body.get("user_id") or 0) not in h.state.sellers:
        raise Refused(404, "unknown app or seller", "not_found")
    return answer(h.state.issue(str(body["client_id"]), int(body["user_id"])), 201)


async def revoke(h: MeliHandlers, request: Request) -> Response:
    """`{user_id}`: the seller removed the app's permission; every token of theirs dies."""
    body = await json_body(request)
    return answer({"revoked": h.state.revoke(int(body["user_id"]))})


async def expire(h: MeliHandlers, request: Request) -> Response:
    """`{user_id?}`: access tokens die now, as after six hours; refresh tokens still work."""
    body = await json_body(request)
    user = body.get("user_id")
    return answer({"expired": h.state.expire_tokens(int(user) if user else None)})


async def config(h: MeliHandlers, request: Request) -> Response:
    """GET, or POST `{token_ttl, rate, burst}`: the emulation's limits."""
    current = h.state.config
    if request.method == "POST":
        for name, value in (await json_body(request)).items():
            if name not in ("token_ttl", "rate", "burst") or float(value) <= 0:
                raise Refused(400, f"bad setting {name}", "bad_request")
            setattr(current, name, float(value))
        h.state.buckets.clear()
    return answer({"token_ttl": current.token_ttl, "rate": current.rate, "burst": current.burst})


async def stats(h: MeliHandlers, request: Request) -> Response:
    """Counts tests assert on: refresh grants answered, notifications delivered, items, orders."""
    return answer(
        {
            "refreshes": h.state.refreshes,
            "throttled": h.state.throttled,
            "delivered": h.state.delivered,
            "items": len(h.state.items),
            "orders": len(h.state.orders),
        }
    )


async def find_items(h: MeliHandlers, request: Request) -> Response:
    """`?seller_sku=`: the items (as the API shows them) of a SKU, whoever listed them."""
    sku = request.query_params.get("seller_sku")
    found = [
        items.item_json(i) | {"description": i.description}
        for i in h.state.items.values()
        if sku is None or items._seller_sku(i) == sku
    ]
    return answer(found)


async def change_item(h: MeliHandlers, request: Request) -> Response:
    """`{status?, sub_status?, deal_ids?, price?, available_quantity?, sold_quantity?, deleted?, ...}`: a change
    made in the seller's portal, behind Ponte's back (a promotion, a pause, a manual edit, a deletion), or a sale
    that freezes the title. `deleted: true` removes the item: the API answers 404 for it from then on."""
    body = await json_body(request)
    item = h.state.items.get(request.path_params["item_id"])
    if item is None:
        raise Refused(404, "Item not found", "not_found")
    with h.state.lock:
        if body.get("deleted") is True:
            del h.state.items[item.id]
            return answer(items.item_json(item) | {"deleted": True})
        for key, value in body.items():
            if key == "status":
                item.status = str(value)
            elif key == "sold_quantity":
                item.sold_quantity = int(value)
            elif key in ("sub_status", "deal_ids"):
                setattr(item, key, [str(v) for v in value or []])
            else:
                item.body[key] = value
    return answer(items.item_json(item))


async def list_by_hand(h: MeliHandlers, request: Request) -> Response:
    """`{seller_id, body}`: a listing the seller made in Mercado Livre's own pages (no Ponte); `{seller_id,
    bodies: [...]}` makes many at once (a seller with 100,000 listings, for the benchmarks)."""
    from ponte.connectors.mercadolivre.emulation.rules import SITE
    from ponte.connectors.mercadolivre.emulation.state import Item

    body = await json_body(request)
    seller_id = int(body["seller_id"])
    made = []
    for given in body.get("bodies") or [body["body"]]:
        number = h.state.next_number()
        item = Item(id=f"{SITE}{4_000_000_000 + number}", seller_id=seller_id, body=dict(given))
        with h.state.lock:
            h.state.items[item.id] = item
        made.append(item)
    if "bodies" in body:
        return answer({"ids": [item.id for item in made]}, 201)
    return answer(items.item_json(made[0]), 201)


async def shipment(h: MeliHandlers, request: Request) -> Response:
    """A shipment as Mercado Livre holds it, with the NF-e XML it received and the ME1 notifications."""
    found = h.state.shipments.get(int(request.path_params["shipment_id"]))
    if found is None:
        raise Refused(404, "Shipment not found", "not_found")
    return answer(
        {
            "id": found.id,
            "order_ids": found.order_ids,
            "mode": found.mode,
            "status": found.status,
            "invoice": found.invoice,
            "tracking_number": found.tracking_number,
            "notifications": found.notifications,
        }
    )


def routes(h: MeliHandlers) -> list[tuple[str, Callable[..., Any], list[str]]]:
    return [
        ("/apps", partial(register_app, h), ["POST"]),
        ("/sellers", partial(register_seller, h), ["POST"]),
        ("/grants", partial(grant, h), ["POST"]),
        ("/grants/revoke", partial(revoke, h), ["POST"]),
        ("/tokens/expire", partial(expire, h), ["POST"]),
        ("/config", partial(config, h), ["GET", "POST"]),
        ("/stats", partial(stats, h), ["GET"]),
        ("/items", partial(find_items, h), ["GET"]),
        ("/items", partial(list_by_hand, h), ["POST"]),
        ("/items/{item_id}", partial(change_item, h), ["POST"]),
        ("/orders", partial(orders.place, h), ["POST"]),
        ("/orders/{order_id}/status", partial(orders.set_status, h), ["POST"]),
        ("/shipments/{shipment_id}", partial(shipment, h), ["GET"]),
    ]
