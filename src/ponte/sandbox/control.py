"""Test helpers: seller registration and listing states (`/{profile}/_admin`), and the switchboard (`/_control`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.sandbox.answers import ApiError, json_response, text
from ponte.sandbox.state import Config, Seller

if TYPE_CHECKING:
    from ponte.sandbox.app import Sandbox

ITEM_STATUSES = ("active", "under_review", "paused", "inactive")


async def register_seller(sb: Sandbox, request: Request) -> Response:
    """`{client_id, client_secret, seller_id?, active?, approved_brands?}` → 201; re-registering replaces."""
    profile = sb.profile(request)
    body = await sb.body(request)
    client_id = text(body, "client_id")
    brands = body.get("approved_brands") or []
    if not isinstance(brands, list):
        raise ApiError("bad_request", {"detail": "approved_brands must be a list"})
    seller = Seller(
        client_id=client_id,
        client_secret=text(body, "client_secret"),
        seller_id=str(body.get("seller_id") or client_id),
        active=body.get("active", True) is not False,
        approved_brands={str(b) for b in brands},
    )
    sb.state.register_seller(profile.name, seller)
    return json_response({"client_id": client_id, "seller_id": seller.seller_id, "active": seller.active}, 201)


async def set_item_status(sb: Sandbox, request: Request) -> Response:
    """`{seller, status}`: move a listing in or out of review (as the marketplace's moderators would)."""
    profile = sb.profile(request)
    body = await sb.body(request)
    status = body.get("status")
    if status not in ITEM_STATUSES:
        raise ApiError("bad_request", {"detail": f"status must be one of {', '.join(ITEM_STATUSES)}"})
    sku = request.path_params["sku"]
    with sb.state.lock:
        item = sb.state.markets[profile.name].items.get((text(body, "seller"), sku))
        if item is None:
            raise ApiError("item_not_found", {"sku": sku}, 404)
        item.status = status
    return json_response({"id": item.item_id, "status": status})


async def admin_item(sb: Sandbox, request: Request) -> Response:
    """Everything the sandbox holds of a seller's listing: `?seller=<seller id>`."""
    from ponte.sandbox.app import _item_view

    profile = sb.profile(request)
    sku = request.path_params["sku"]
    with sb.state.lock:
        item = sb.state.markets[profile.name].items.get((request.query_params.get("seller", ""), sku))
        if item is None:
            raise ApiError("item_not_found", {"sku": sku}, 404)
        return json_response({**_item_view(item), "data": item.data})


async def health(sb: Sandbox, request: Request) -> Response:
    return json_response({"ok": True, "profiles": sb.state.names, "default": sb.default})


async def faults(sb: Sandbox, request: Request) -> Response:
    """GET the switchboard, or POST a partial update; `expire_tokens: true` invalidates every token now."""
    expired = 0
    if request.method == "POST":
        body = await sb.body(request)
        if body.pop("expire_tokens", False):
            expired = sb.state.expire_tokens()
        try:
            sb.faults.update(body)
        except (TypeError, ValueError) as exc:
            raise ApiError("bad_request", {"detail": str(exc)})
    return json_response({**sb.faults.as_dict(), "expired_tokens": expired})


async def stats(sb: Sandbox, request: Request) -> Response:
    return json_response(sb.stats.snapshot())


async def reset(sb: Sandbox, request: Request) -> Response:
    """Forget sellers, tokens, listings and orders; restore the config; faults off; counters zeroed; re-seeded."""
    sb.state.reset()
    for emulation in sb.emulations.values():
        emulation.reset()
    initial = sb.initial_config
    sb.state.config = replace(initial, restricted_brands=set(initial.restricted_brands))
    sb.faults.update({name: value for name, value in type(sb.faults)().as_dict().items()})
    sb.stats.reset()
    sb.rng.seed(sb.seed)
    return json_response({"ok": True})


async def config(sb: Sandbox, request: Request) -> Response:
    """GET or POST `{token_ttl, rate, burst, max_discount, discount_notice, restricted_brands}`."""
    current = sb.state.config
    if request.method == "POST":
        body = await sb.body(request)
        try:
            _apply_config(current, body)
        except (TypeError, ValueError) as exc:
            raise ApiError("bad_request", {"detail": str(exc)})
        # Buckets were filled under the old limits; start them afresh under the new ones.
        with sb.state.lock:
            for market in sb.state.markets.values():
                market.buckets.clear()
    return json_response(
        {
            "token_ttl": current.token_ttl,
            "rate": current.rate,
            "burst": current.burst,
            "max_discount": current.max_discount,
            "discount_notice": current.discount_notice,
            "restricted_brands": sorted(current.restricted_brands),
        }
    )


def _apply_config(current: Config, body: dict[str, Any]) -> None:
    for name, value in body.items():
        if name == "restricted_brands":
            if not isinstance(value, list):
                raise ValueError("restricted_brands must be a list")
            current.restricted_brands = {str(b) for b in value}
        elif name in ("token_ttl", "rate", "burst", "max_discount", "discount_notice"):
            number = float(value)
            if number < 0:
                raise ValueError(f"{name} must not be negative")
            setattr(current, name, number)
        else:
            raise ValueError(f"unknown setting {name!r}")
