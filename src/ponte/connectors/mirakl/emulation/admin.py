"""Test helpers of the Mirakl emulation, under /mirakl/_admin/… (never a path the real API has): register shops
and catalog products, play a buyer placing an order that waits for acceptance, move the clock, set what the
operator refuses or keeps in review, and read what the shop's offers and orders became and which calls came."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ponte.connectors.mirakl.emulation.api import Refusal
from ponte.connectors.mirakl.emulation.state import Line, Operator, Order, Shop, iso

BUYER = {
    "customer_id": "CLI-0001",
    "firstname": "Ana",
    "lastname": "Souza",
    "phone": "+5511988887777",
    "street": "Avenida Paulista, 1000",
    "city": "São Paulo",
    "state": "SP",
    "zip_code": "01310-100",
}


class Admin:
    def __init__(self, operator: Operator) -> None:
        self.operator = operator

    async def shops(self, request: Request) -> Response:
        """Register a shop and its key: {"shop_id", "shop_name", "api_key", "state"?}. A key given to several
        shops opens them all (the first is its default)."""
        body = await request.json()
        shop_id = int(body["shop_id"])
        shop = self.operator.shops.get(shop_id) or Shop(shop_id, str(body.get("shop_name") or shop_id), [])
        shop.name = str(body.get("shop_name") or shop.name)
        shop.state = str(body.get("state") or shop.state)
        if body.get("api_key") and body["api_key"] not in shop.keys:
            shop.keys.append(str(body["api_key"]))
        self.operator.shops[shop_id] = shop
        return JSONResponse({"shop_id": shop.id, "shop_name": shop.name})

    async def catalog(self, request: Request) -> Response:
        """The operator's catalog: {"products": [{"ean", "title"?}], "categories": {code: [required attributes]}}."""
        body = await request.json()
        for product in body.get("products") or []:
            self.operator.catalog[("EAN", str(product["ean"]))] = dict(product)
        for code, required in (body.get("categories") or {}).items():
            self.operator.categories[str(code)] = [str(name) for name in required]
        return JSONResponse({"products": len(self.operator.catalog), "categories": len(self.operator.categories)})

    async def shop_products(self, request: Request) -> Response:
        """Products a shop has had integrated long ago (its offers may name them by SKU): {"skus": [...]}."""
        shop = self.operator.shops.get(int(request.path_params["shop_id"]))
        if shop is None:
            raise Refusal(404, "no such shop")
        for sku in (await request.json()).get("skus") or []:
            shop.products[str(sku)] = {"sku": str(sku)}
        return JSONResponse({"products": len(shop.products)})

    async def config(self, request: Request) -> Response:
        """{"import_seconds"?, "review"?: [skus], "approve"?: [skus], "refuse"?: {sku: message}, "forgive"?: [skus],
        "untransformable"?: {sku: message}, "operator"?}. `refuse` refuses a SKU's lines when the operator integrates
        them (OF03, P44); `untransformable` fails a SKU's product line earlier, at the operator's transformation of the
        file (P47); `forgive` lifts both."""
        body = await request.json()
        operator = self.operator
        if body.get("import_seconds") is not None:
            operator.import_seconds = float(body["import_seconds"])
        operator.review |= set(body.get("review") or [])
        operator.review -= set(body.get("approve") or [])
        operator.refuse.update({str(k): str(v) for k, v in (body.get("refuse") or {}).items()})
        operator.untransformable.update({str(k): str(v) for k, v in (body.get("untransformable") or {}).items()})
        for sku in body.get("forgive") or []:
            operator.refuse.pop(sku, None)
            operator.untransformable.pop(sku, None)
        operator.name = str(body.get("operator") or operator.name)
        return JSONResponse(
            {
                "import_seconds": operator.import_seconds,
                "review": sorted(operator.review),
                "refuse": operator.refuse,
                "untransformable": operator.untransformable,
            }
        )

    async def clock(self, request: Request) -> Response:
        """{"advance": seconds}: the operator's clock moves on (imports finish, call frequencies free up)."""
        body = await request.json()
        self.operator.offset += float(body.get("advance") or 0)
        return JSONResponse({"now": iso(self.operator.now())})

    async def place_order(self, request: Request) -> Response:
        """A buyer's order waiting for the shop's acceptance: {"shop_id", "lines": [{"sku", "quantity", "price",
        "shipping"?, "title"?}], "customer"?: {...}}."""
        body = await request.json()
        shop_id = int(body["shop_id"])
        if shop_id not in self.operator.shops:
            raise Refusal(404, f"shop {shop_id} not registered")
        operator = self.operator
        number = operator.next_order
        operator.next_order += 1
        commercial = f"PED{number:06d}"
        order_id = f"{commercial}-A"
        lines = [
            Line(
                id=f"{order_id}-{index}",
                index=index,
                sku=str(line["sku"]),
                quantity=int(line.get("quantity", 1)),
                price=float(line["price"]),
                shipping=float(line.get("shipping", 0)),
                title=str(line.get("title") or line["sku"]),
            )
            for index, line in enumerate(body["lines"], start=1)
        ]
        customer = BUYER | dict(body.get("customer") or {})
        operator.orders[order_id] = Order(order_id, commercial, shop_id, operator.now(), lines, customer)
        return JSONResponse({"order_id": order_id, "lines": [line.id for line in lines]}, status_code=201)

    async def order(self, request: Request) -> Response:
        order = self.operator.orders.get(request.path_params["order_id"])
        if order is None:
            raise Refusal(404, "no such order")
        calls = [c for c in self.operator.calls if f"/api/orders/{order.id}/" in c["path"]]
        return JSONResponse(
            {
                "order_id": order.id,
                "state": order.state,
                "lines": {line.id: {"sku": line.sku, "state": line.state} for line in order.lines},
                "tracking": order.tracking,
                "calls": [c["operation"] for c in calls],
            }
        )

    async def offers(self, request: Request) -> Response:
        """A shop's offers (`?sku=` for some), with when each last changed."""
        shop = self.operator.shops.get(int(request.path_params["shop_id"]))
        if shop is None:
            raise Refusal(404, "no such shop")
        wanted = set(request.query_params.getlist("sku"))
        offers = {
            sku: offer | {"applied_at": shop.applied.get(sku)}
            for sku, offer in shop.offers.items()
            if not wanted or sku in wanted
        }
        return JSONResponse({"count": len(shop.offers), "offers": offers, "products": sorted(shop.products)})

    async def seed_offers(self, request: Request) -> Response:
        """`{offers: [{shop_sku, price, quantity}]}`: offers the shop has already (the benchmarks' 100,000)."""
        shop = self.operator.shops.get(int(request.path_params["shop_id"]))
        if shop is None:
            raise Refusal(404, "no such shop")
        at = self.operator.now()
        for offer in (await request.json())["offers"]:
            sku = str(offer["shop_sku"])
            shop.offers[sku] = {"shop_sku": sku, "product_id": sku, "product_id_type": "SHOP_SKU", "state_code": "11",
                                "price": float(offer["price"]), "quantity": int(offer["quantity"])}  # fmt: skip
            shop.applied[sku] = at
        return JSONResponse({"count": len(shop.offers)})

    async def change_offer(self, request: Request) -> Response:
        """`{price?, discount_price?, quantity?, active?, deleted?}`: the seller (or the operator) changes an offer in
        Mirakl's back office, behind Ponte's back; `deleted: true` removes it."""
        shop = self.operator.shops.get(int(request.path_params["shop_id"]))
        sku = request.path_params["sku"]
        if shop is None or sku not in shop.offers:
            raise Refusal(404, "no such offer")
        body = await request.json()
        if body.get("deleted") is True:
            del shop.offers[sku]
            shop.deleted[sku] = self.operator.now()
            return JSONResponse({"deleted": sku})
        for key in ("price", "discount_price", "quantity", "active"):
            if key in body:
                shop.offers[sku][key] = body[key]
        shop.applied[sku] = self.operator.now()
        return JSONResponse(shop.offers[sku])

    async def calls(self, request: Request) -> Response:
        """Every call answered (`?operation=OF24` for one): its operation, shop, time and path."""
        operation = request.query_params.get("operation")
        found: list[dict[str, Any]] = [c for c in self.operator.calls if not operation or c["operation"] == operation]
        return JSONResponse({"calls": found})
