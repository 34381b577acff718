"""The sandbox marketplace as an ASGI app (Starlette: routing only, so that handlers stay cheap).

Every profile is served under its own prefix (`/magalu/items/...`); the default profile is also
served without a prefix. Seller endpoints need a bearer token from `POST /{profile}/oauth/token`;
`_admin` and `_buyer` endpoints are test helpers without auth; `/_control` switches faults and limits.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ponte.sandbox import catalog
from ponte.sandbox.answers import ApiError, from_problem, integer, json_response, number
from ponte.sandbox.emulation import Emulation
from ponte.sandbox.faults import Faults, Stats, error_json
from ponte.sandbox.profiles import PROFILES, Profile
from ponte.sandbox.state import Config, Item, SandboxState, Seller, retry_after_header


class Sandbox:
    """The handlers and the state they share."""

    def __init__(self, profiles: list[str], default: str, seed: int | None, config: Config) -> None:
        unknown = [p for p in [*profiles, default] if p not in PROFILES]
        if unknown:
            raise ValueError(f"unknown sandbox profile(s) {unknown}; known: {sorted(PROFILES)}")
        self.default = default
        self.seed = seed
        self.initial_config = replace(config, restricted_brands=set(config.restricted_brands))
        self.state = SandboxState(profiles, config)
        self.faults = Faults()
        self.stats = Stats()
        self.rng = random.Random(seed)
        self.emulations: dict[str, Emulation] = {}  # the real connectors' emulations, mounted at /{kind}

    # -- plumbing ---------------------------------------------------------------------------------------

    def profile(self, request: Request) -> Profile:
        name = request.path_params.get("profile", self.default)
        if name not in self.state.markets:
            raise ApiError("not_found", {"detail": f"unknown marketplace {name}"}, 404)
        return PROFILES[name]

    def wording_for(self, request: Request) -> Profile:
        name = request.path_params.get("profile", self.default)
        return PROFILES.get(name, PROFILES[self.default])

    async def body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(raw.decode("utf-8", "replace")))
        try:
            data = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise ApiError("bad_request", {"detail": "the body is not valid JSON"})
        if not isinstance(data, dict):
            raise ApiError("bad_request", {"detail": "the body must be a JSON object"})
        return data

    def seller(self, request: Request, profile: Profile) -> Seller:
        """The seller behind the bearer token, after the rate limit; raises 401/403/429."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        seller = self.state.seller_for_token(profile.name, token.strip()) if scheme.lower() == "bearer" else None
        if seller is None:
            raise ApiError("auth_token", status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if not seller.active:
            raise ApiError("seller_inactive", status=403)
        wait = self.state.take(profile.name, seller.seller_id)
        if wait is not None:
            raise ApiError("rate_limited", status=429, headers={"Retry-After": retry_after_header(wait)})
        return seller

    def error_body(self, profile_name: str, status: int) -> bytes:
        profile = PROFILES.get(profile_name, PROFILES[self.default])
        code, message = profile.error("unavailable", {"status": status})
        return error_json(code, message, status)

    async def on_api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        code, message = self.wording_for(request).error(exc.kind, exc.params)
        return json_response({"code": code, "message": message, "status": exc.status}, exc.status, exc.headers)

    async def on_http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = f"{request.method} {request.url.path} ({exc.detail})"
        code, message = self.wording_for(request).error("not_found", {"detail": detail})
        return json_response({"code": code, "message": message, "status": exc.status_code}, exc.status_code)

    # -- auth -------------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        """OAuth client-credentials: unknown clients whose secret is "secret" (or "secret-…") are registered."""
        profile = self.profile(request)
        body = await self.body(request)
        client_id, client_secret = str(body.get("client_id") or ""), str(body.get("client_secret") or "")
        issued = self.state.issue_token(profile.name, client_id, client_secret) if client_id else None
        if issued is None:
            raise ApiError("auth_grant", status=401)
        seller, token = issued
        ttl = self.state.config.token_ttl
        return json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": ttl, "user_id": seller.seller_id}
        )

    async def me(self, request: Request) -> Response:
        profile = self.profile(request)
        seller = self.seller(request, profile)
        return json_response({"seller_id": seller.seller_id, "marketplace": profile.label, "active": seller.active})

    # -- catalog ----------------------------------------------------------------------------------------

    async def put_item(self, request: Request) -> Response:
        profile = self.profile(request)
        seller = self.seller(request, profile)
        body = await self.body(request)
        sku = request.path_params["sku"]
        restricted = self.state.config.restricted_brands - seller.approved_brands
        problem = catalog.check_product(
            body, prefix=profile.category_prefix, max_images=profile.max_images, restricted_brands=restricted
        )
        if problem:
            raise from_problem(problem)
        category = catalog.find_category(body.get("category"), profile.category_prefix)
        assert category is not None
        item = self._upsert_item(profile, seller, sku, body, category)
        warnings = []
        if item.status == "under_review":
            code, message = profile.error("under_review_notice", {"item_id": item.item_id})
            warnings.append({"code": code, "message": message})
        view = {
            "id": item.item_id,
            "sku": sku,
            "status": item.status,
            "category_id": f"{profile.category_prefix}{category.number}",
        }
        return json_response({**view, "warnings": warnings})

    def _upsert_item(
        self, profile: Profile, seller: Seller, sku: str, body: dict[str, Any], category: catalog.Category
    ) -> Item:
        market = self.state.markets[profile.name]
        item_id = profile.item_id(seller.seller_id, sku)
        ean = str(body.get("ean") or "")
        with self.state.lock:
            holder = market.eans.get((seller.seller_id, ean)) if ean else None
            if holder is not None and holder != sku:
                other = profile.item_id(seller.seller_id, holder)
                raise ApiError("gtin_conflict", {"ean": ean, "other": other}, 409)
            item = market.items.get((seller.seller_id, sku))
            if item is None:
                status = "under_review" if category.review else "active"
                item = market.items[(seller.seller_id, sku)] = Item(sku, item_id, seller.seller_id, status, None, {})
            old_ean = str(item.data.get("ean") or "")
            if old_ean and market.eans.get((seller.seller_id, old_ean)) == sku:
                del market.eans[(seller.seller_id, old_ean)]  # the SKU's EAN changed: free the old one
            if ean:
                market.eans[(seller.seller_id, ean)] = sku
            item.data, item.category = body, category.number
            if body.get("active") is False and item.status != "under_review":
                item.status = "inactive"
            elif item.status == "inactive":
                item.status = "active"
            return item

    def _item(self, profile: Profile, seller: Seller, sku: str) -> Item:
        item = self.state.markets[profile.name].items.get((seller.seller_id, sku))
        if item is None:
            raise ApiError("item_not_found", {"sku": sku}, 404)
        return item

    async def get_item(self, request: Request) -> Response:
        profile = self.profile(request)
        item = self._item(profile, self.seller(request, profile), request.path_params["sku"])
        return json_response(_item_view(item))

    async def put_price(self, request: Request) -> Response:
        profile = self.profile(request)
        seller = self.seller(request, profile)
        body = await self.body(request)
        list_price, price = number(body, "list_price"), number(body, "price")
        config = self.state.config
        with self.state.lock:
            item = self._item(profile, seller, request.path_params["sku"])
            if item.status == "under_review":
                raise ApiError("blocked_price", {"item_id": item.item_id, "status": item.status}, 409)
            category = catalog.CATEGORIES.get(item.category or "")
            problem = catalog.check_price(list_price, price, category, config.max_discount)
            if problem:
                raise from_problem(problem)
            item.list_price, item.price = list_price, price
        warnings = []
        if price < list_price * (1 - config.discount_notice):
            code, message = profile.error("price_discount_notice", {"notice": round(config.discount_notice * 100)})
            warnings.append({"code": code, "message": message})
        return json_response({"id": item.item_id, "list_price": list_price, "price": price, "warnings": warnings})

    async def put_stock(self, request: Request) -> Response:
        profile = self.profile(request)
        seller = self.seller(request, profile)
        body = await self.body(request)
        quantity, handling = integer(body, "quantity"), integer(body, "handling_days", 0)
        with self.state.lock:
            item = self._item(profile, seller, request.path_params["sku"])
            if quantity < 0:
                raise ApiError("stock_negative", {"quantity": quantity})
            if item.status == "under_review":
                raise ApiError("blocked_stock", {"item_id": item.item_id, "status": item.status}, 409)
            item.quantity, item.handling_days = quantity, max(0, handling)
            if quantity == 0 and item.status == "active":
                item.status = "paused"
            elif quantity > 0 and item.status == "paused":
                item.status = "active"
        warnings = []
        if quantity == 0:
            code, message = profile.error("stock_zero_notice", {"item_id": item.item_id})
            warnings.append({"code": code, "message": message})
        return json_response({"id": item.item_id, "quantity": quantity, "status": item.status, "warnings": warnings})

    async def categories(self, request: Request) -> Response:
        profile = self.profile(request)
        return json_response(catalog.category_tree(profile.category_prefix))


def _item_view(item: Item) -> dict[str, Any]:
    return {
        "id": item.item_id,
        "sku": item.sku,
        "seller_id": item.seller_id,
        "status": item.status,
        "category": item.category,
        "list_price": item.list_price,
        "price": item.price,
        "quantity": item.quantity,
        "handling_days": item.handling_days,
    }
