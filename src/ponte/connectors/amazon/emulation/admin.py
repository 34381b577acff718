"""Test helpers of the Amazon emulation, under /amazon/_admin/ (a path SP-API does not have): apps and sellers,
grants as if a seller had authorised, the catalog Amazon already has, usage plans, the clock, listings looked at or
changed behind Ponte's back, and the calls made."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.amazon.emulation.api import Api, Refused, answer
from ponte.connectors.amazon.emulation.listings import view
from ponte.connectors.amazon.emulation.state import App, Listing, Market, Seller, Token


class Admin(Api):
    def __init__(self, market: Market, notify: Any) -> None:
        super().__init__(market)
        self.notify = notify  # (seller_id, notification type, payload) → None

    async def apps(self, request: Request) -> Response:
        body = await self.json(request)
        app = App(
            str(body["client_id"]), str(body["client_secret"]), str(body.get("application_id") or body["client_id"]),
            [str(u) for u in body.get("redirect_uris") or []], body.get("callback"),
        )  # fmt: skip
        with self.market.lock:
            self.market.apps[app.client_id] = app
        return answer({"client_id": app.client_id})

    async def sellers(self, request: Request) -> Response:
        body = await self.json(request)
        seller = Seller(str(body["seller_id"]), str(body.get("name") or body["seller_id"]))
        seller.restricted_brands = {str(b) for b in body.get("restricted_brands") or []}
        with self.market.lock:
            self.market.sellers[seller.seller_id] = seller
        return answer({"seller_id": seller.seller_id})

    async def grants(self, request: Request) -> Response:
        """A refresh token (and a first access token) as if the seller had authorised the app."""
        body = await self.json(request)
        client_id, seller_id = str(body["client_id"]), str(body["seller_id"])
        if client_id not in self.market.apps or seller_id not in self.market.sellers:
            raise Refused(404, "NotFound", "unknown app or seller")
        refresh, access = f"Atzr|{secrets.token_urlsafe(24)}", f"Atza|{secrets.token_urlsafe(24)}"
        market = self.market
        with market.lock:
            market.refresh_tokens[refresh] = (client_id, seller_id)
            market.tokens[access] = Token(client_id, seller_id, market.now() + market.token_ttl)
        return answer(
            {
                "refresh_token": refresh,
                "access_token": access,
                "expires_in": int(market.token_ttl),
                "seller_id": seller_id,
            }
        )

    async def revoke(self, request: Request) -> Response:
        """The seller removed the app in Seller Central: its refresh and access tokens stop working."""
        seller_id = str((await self.json(request))["seller_id"])
        market = self.market
        with market.lock:
            for token, (_, owner) in list(market.refresh_tokens.items()):
                if owner == seller_id:
                    del market.refresh_tokens[token]
            for token, held in list(market.tokens.items()):
                if held.seller_id == seller_id:
                    del market.tokens[token]
        return answer({"revoked": seller_id})

    async def expire(self, request: Request) -> Response:
        """Every access token dies now (before its hour)."""
        market = self.market
        with market.lock:
            for held in market.tokens.values():
                held.expires_at = market.now() - 1
        return answer({"expired": len(market.tokens)})

    async def catalog(self, request: Request) -> Response:
        """Products Amazon's catalog already has (`ean`, `asin`, `brand`) and product types (name → required
        attributes)."""
        body = await self.json(request)
        market = self.market
        with market.lock:
            for product in body.get("products") or []:
                market.catalog[str(product["ean"])] = (str(product["asin"]), str(product.get("brand") or ""))
            for name, required in (body.get("product_types") or {}).items():
                market.product_types[str(name)] = [str(a) for a in required]
        return answer({"products": len(market.catalog), "product_types": sorted(market.product_types)})

    async def config(self, request: Request) -> Response:
        """`rates` ({operation: [rate, burst]}), `token_ttl`, `feed_seconds`."""
        body = await self.json(request)
        market = self.market
        with market.lock:
            for operation, (rate, burst) in (body.get("rates") or {}).items():
                market.rates[str(operation)] = (float(rate), float(burst))
                market.buckets = {k: v for k, v in market.buckets.items() if k[1] != operation}
            if "token_ttl" in body:
                market.token_ttl = float(body["token_ttl"])
            if "feed_seconds" in body:
                market.feed_seconds = float(body["feed_seconds"])
        return answer({"ok": True})

    async def clock(self, request: Request) -> Response:
        body = await self.json(request)
        with self.market.lock:
            self.market.offset += float(body.get("advance") or 0)
        return answer({"now": self.market.now()})

    async def listings(self, request: Request) -> Response:
        seller_id = request.query_params.get("seller_id")
        wanted = set(request.query_params.getlist("sku"))
        found = {
            sku: {**view(li, "A2Q3Y263D00KWC", ["summaries", "attributes", "issues"]), "asin": li.asin}
            for (owner, sku), li in self.market.listings.items()
            if (seller_id in (None, owner)) and (not wanted or sku in wanted)
        }
        return answer({"listings": found})

    async def seed(self, request: Request) -> Response:
        """Listings as if made long ago (`{seller_id, skus, product_type?, price?, quantity?}`), not judged."""
        body = await self.json(request)
        market, seller_id = self.market, str(body["seller_id"])
        product_type = str(body.get("product_type") or "PRODUCT")
        attributes = {
            "purchasable_offer": [
                {"currency": "BRL", "our_price": [{"schedule": [{"value_with_tax": body.get("price", 10)}]}]}
            ],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": body.get("quantity", 1)}],
        }
        with market.lock:
            now = market.now()
            for sku in body["skus"]:
                market.listings[(seller_id, str(sku))] = Listing(
                    seller_id, str(sku), product_type, {k: [dict(v[0])] for k, v in attributes.items()}, None, now, now
                )
        return answer({"seeded": len(body["skus"])})

    async def issues(self, request: Request) -> Response:
        """Amazon finds issues in a listing it had accepted (or clears them): the listing is suppressed or back, and
        LISTINGS_ITEM_ISSUES_CHANGE goes to the app's destination."""
        seller_id, sku = request.path_params["seller_id"], request.path_params["sku"]
        body = await self.json(request)
        market = self.market
        with market.lock:
            listing = market.listings.get((seller_id, sku))
            if listing is None:
                raise Refused(404, "NotFound", f"no listing {sku} of seller {seller_id}")
            listing.later, listing.updated = list(body.get("issues") or []), market.now()
        severities = sorted({str(i.get("severity")) for i in listing.later}) or ["NONE"]
        actions = sorted({a["action"] for i in listing.later for a in (i.get("enforcements") or {}).get("actions", [])})
        payload = {
            "SellerId": seller_id, "MarketplaceId": "A2Q3Y263D00KWC", "Sku": sku,
            "Severities": severities, "EnforcementActions": actions,
        }  # fmt: skip
        if listing.asin:
            payload["Asin"] = listing.asin
        await self.notify(seller_id, "LISTINGS_ITEM_ISSUES_CHANGE", payload)
        return answer({"sku": sku, "issues": listing.later})

    async def calls(self, request: Request) -> Response:
        operation = request.query_params.get("operation")
        calls = [c for c in self.market.calls if operation in (None, c["operation"])]
        return answer({"calls": calls})

    async def notifications(self, request: Request) -> Response:
        return answer({"notifications": self.market.notifications})
