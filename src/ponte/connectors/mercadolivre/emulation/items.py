"""Items: create (`POST /items`), validate, read, update (`PUT /items/{id}`), descriptions, the seller's search by
SELLER_SKU, the multiget, and User Products' stock (mercadolivre.md § 2)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.mercadolivre.emulation import rules
from ponte.connectors.mercadolivre.emulation.api import MeliHandlers, Refused, answer, json_body
from ponte.connectors.mercadolivre.emulation.rules import Cause
from ponte.connectors.mercadolivre.emulation.state import Item

FROZEN_AFTER_SALE = ("title", "condition", "buying_mode")  # [O] mercadolivre.md § 2
SEARCH_LIMIT, OFFSET_LIMIT, MULTIGET_LIMIT = (
    100,
    1000,
    20,
)  # the seller search's largest page, and how far offset paging goes


def item_json(item: Item) -> dict[str, Any]:
    body = item.body
    return {
        "id": item.id,
        "site_id": rules.SITE,
        "title": body.get("title"),
        "seller_id": item.seller_id,
        "category_id": body.get("category_id"),
        "user_product_id": item.user_product_id,
        "price": body.get("price"),
        "currency_id": body.get("currency_id"),
        "available_quantity": body.get("available_quantity", 0),
        "sold_quantity": item.sold_quantity,
        "buying_mode": body.get("buying_mode"),
        "listing_type_id": body.get("listing_type_id"),
        "condition": body.get("condition"),
        "permalink": f"https://produto.mercadolivre.com.br/{item.id[:3]}-{item.id[3:]}",
        "pictures": [
            {"id": f"{n}-{item.id}", "source": p.get("source")} for n, p in enumerate(body.get("pictures") or [])
        ],
        "attributes": [{"id": a["id"], "value_name": a.get("value_name")} for a in body.get("attributes") or []],
        "shipping": body.get("shipping") or {},
        "status": item.status,
        "sub_status": list(item.sub_status),
        "deal_ids": list(item.deal_ids),
    }


def _seller_sku(item: Item) -> str | None:
    return next((a.get("value_name") for a in item.body.get("attributes") or [] if a.get("id") == "SELLER_SKU"), None)


async def create(h: MeliHandlers, request: Request) -> Response:
    _, seller = h.caller(request)
    body = await json_body(request)
    errors, warnings = rules.judge_new_item(body, approved_brands=seller.approved_brands)
    if errors:
        raise Refused(400, "Validation error", "validation_error", errors + warnings)
    number = h.state.next_number()
    item = Item(id=f"{rules.SITE}{4_000_000_000 + number}", seller_id=seller.user_id, body=body)
    category = rules.category(body.get("category_id"))
    item.status = "under_review" if category is not None and category.review else "active"
    if "user_product_seller" in seller.tags or "warehouse_management" in seller.tags:
        item.user_product_id = f"{rules.SITE}U{900_000_000 + number}"
        h.state.user_products[item.user_product_id] = {
            "user_id": seller.user_id,
            "locations": [{"type": "seller_warehouse", "quantity": body.get("available_quantity", 0)}],
        }
    with h.state.lock:
        h.state.items[item.id] = item
    shown = item_json(item) | {"warnings": [w.as_json() for w in warnings]} if warnings else item_json(item)
    return answer(shown, 201)


async def validate(h: MeliHandlers, request: Request) -> Response:
    """`POST /items/validate`: what to fix before listing; 204 when nothing."""
    _, seller = h.caller(request)
    errors, warnings = rules.judge_new_item(await json_body(request), approved_brands=seller.approved_brands)
    if errors:
        raise Refused(400, "Validation error", "validation_error", errors + warnings)
    return Response(status_code=204)


async def read(h: MeliHandlers, request: Request) -> Response:
    _, seller = h.caller(request)
    return answer(item_json(h.item_of(seller, request.path_params["item_id"])))


async def update(h: MeliHandlers, request: Request) -> Response:
    """`PUT /items/{id}`: price, quantity, status, title, pictures, attributes. A closed item cannot change; an item
    that sold keeps its title, condition and buying mode; only an active (or paused) item is modifiable."""
    _, seller = h.caller(request)
    item = h.item_of(seller, request.path_params["item_id"])
    body = await json_body(request)
    if item.status in ("closed", "under_review"):
        raise Refused(
            400, "Validation error", "validation_error",
            [Cause("item.status.not_modifiable", f"Cannot update item {item.id} [status:{item.status}]", references=["item.status"])],
        )  # fmt: skip
    frozen = [
        key for key in FROZEN_AFTER_SALE if key in body and item.sold_quantity and body[key] != item.body.get(key)
    ]
    if frozen:
        raise Refused(
            400, "Validation error", "validation_error",
            [Cause("item.title.not_modifiable", f"Cannot modify {', '.join(frozen)} of an item with sales", references=[f"item.{frozen[0]}"])],
        )  # fmt: skip
    problems = _judge_update(body, item)
    if problems:
        raise Refused(400, "Validation error", "validation_error", problems)
    with h.state.lock:
        if "status" in body:
            item.status = str(body["status"])
        for key in ("price", "available_quantity", "title", "pictures"):
            if key in body:
                item.body[key] = body[key]
        if "attributes" in body:
            merged = {a["id"]: a for a in item.body.get("attributes") or []}
            merged |= {a["id"]: a for a in body["attributes"]}
            item.body["attributes"] = list(merged.values())
        if "available_quantity" in body and item.user_product_id in h.state.user_products:
            h.state.user_products[item.user_product_id]["locations"][0]["quantity"] = body["available_quantity"]
        item.updated = h.state.clock()
    return answer(item_json(item))


def _judge_update(body: dict[str, Any], item: Item) -> list[Cause]:
    problems: list[Cause] = []
    if "price" in body:
        problems += rules.judge_price(body["price"], rules.category(item.body.get("category_id")))
    quantity = body.get("available_quantity")
    if "available_quantity" in body and (not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0):
        problems.append(
            Cause(
                "item.available_quantity.invalid",
                f"Invalid available_quantity: {quantity}",
                references=["item.available_quantity"],
            )
        )
    if body.get("status") not in (None, "active", "paused", "closed"):
        problems.append(Cause("item.status.invalid", f"Invalid status {body['status']}", references=["item.status"]))
    if "title" in body and len(str(body["title"])) > rules.TITLE_LIMIT:
        problems.append(
            Cause(
                "item.title.length", f"title is longer than {rules.TITLE_LIMIT} characters", references=["item.title"]
            )
        )
    if "pictures" in body:
        problems += rules._pictures(body)
    return problems


async def description(h: MeliHandlers, request: Request) -> Response:
    """`POST` (or `PUT`) `/items/{id}/description` `{"plain_text"}`; `GET` reads it."""
    _, seller = h.caller(request)
    item = h.item_of(seller, request.path_params["item_id"])
    if request.method == "GET":
        return answer({"text": "", "plain_text": item.description or ""})
    body = await json_body(request)
    text = body.get("plain_text")
    if not isinstance(text, str):
        raise Refused(
            400, "Validation error", "validation_error", [Cause("item.description.invalid", "plain_text is required")]
        )
    item.description = text
    return answer({"text": "", "plain_text": text}, 201 if request.method == "POST" else 200)


async def search(h: MeliHandlers, request: Request) -> Response:
    """`GET /users/{id}/items/search` (`seller_sku`, `status`, `offset`, `limit`): the seller's item ids. With
    `search_type=scan` no offset: a `scroll_id` to send back for the next page, until a page comes back empty
    (developers.mercadolibre.com/pt-br/news/nova-modalidade-para-realizar-pesquisas-com-o-recurso-search/); offset
    paging stops at 1,000 items, `limit` at 100."""
    _, seller = h.caller(request)
    if str(request.path_params["user_id"]) != str(seller.user_id):
        raise Refused(403, "The caller is not authorized to access this resource", "forbidden")
    query = request.query_params
    sku, status = query.get("seller_sku"), query.get("status")
    mine = [
        item.id
        for item in h.state.items.values()
        if item.seller_id == seller.user_id
        and (sku is None or _seller_sku(item) == sku)
        and (status is None or item.status == status)
    ]
    limit = min(SEARCH_LIMIT, _number(query.get("limit"), 50))
    if query.get("search_type") == "scan":
        offset = h.state.scrolls.pop(query["scroll_id"], -1) if query.get("scroll_id") else 0
        if offset < 0:
            raise Refused(400, "invalid scroll_id", "bad_request")
        page = mine[offset : offset + limit]
        scroll = h.state.scroll(offset + len(page)) if page else None
        paging = {"limit": limit, "total": len(mine)}
        return answer({"seller_id": str(seller.user_id), "results": page, "paging": paging, "scroll_id": scroll})
    offset = _number(query.get("offset"), 0)
    if offset + limit > OFFSET_LIMIT:
        raise Refused(400, f"offset + limit must not exceed {OFFSET_LIMIT}: use search_type=scan", "bad_request")
    page = mine[offset : offset + limit]
    return answer(
        {
            "seller_id": str(seller.user_id),
            "results": page,
            "paging": {"limit": limit, "offset": offset, "total": len(mine)},
        }
    )


def _number(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default


async def multiget(h: MeliHandlers, request: Request) -> Response:
    """`GET /items?ids=A,B` (at most 20) `&attributes=id,price,…` (only those fields): `[{"code", "body"}]`."""
    _, seller = h.caller(request)
    ids = [i for i in (request.query_params.get("ids") or "").split(",") if i]
    if len(ids) > MULTIGET_LIMIT:
        raise Refused(400, f"at most {MULTIGET_LIMIT} ids", "bad_request")
    fields = [f for f in (request.query_params.get("attributes") or "").split(",") if f]
    found = []
    for item_id in ids:
        item = h.state.items.get(item_id)
        if item is None or item.seller_id != seller.user_id:
            gone = {"message": f"Item with id {item_id} not found", "error": "not_found", "status": 404, "cause": []}
            found.append({"code": 404, "body": gone})
        else:
            shown = item_json(item)
            found.append({"code": 200, "body": {k: shown[k] for k in fields if k in shown} if fields else shown})
    return answer(found)


async def user_product_stock(h: MeliHandlers, request: Request) -> Response:
    """`GET /user-products/{id}/stock`; `PUT /user-products/{id}/stock/type/{type}` `{"quantity"}`."""
    _, seller = h.caller(request)
    product_id = request.path_params["product_id"]
    product = h.state.user_products.get(product_id)
    if product is None or product["user_id"] != seller.user_id:
        raise Refused(404, "stock-locations not found", "not_found")
    if request.method == "PUT":
        kind = request.path_params.get("location_type")
        if kind == "meli_facility":
            raise Refused(400, "meli_facility stock is managed by Mercado Livre", "bad_request")
        quantity = (await json_body(request)).get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise Refused(400, f"Invalid quantity: {quantity}", "bad_request")
        with h.state.lock:
            locations = [loc for loc in product["locations"] if loc["type"] == kind]
            if locations:
                locations[0]["quantity"] = quantity
            else:
                product["locations"].append({"type": kind, "quantity": quantity})
            for item in h.state.items.values():
                if item.user_product_id == product_id:
                    item.body["available_quantity"] = sum(loc["quantity"] for loc in product["locations"])
    return answer({"locations": product["locations"], "user_id": product["user_id"], "id": product_id})
