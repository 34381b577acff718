"""The demo store's Amazon: Ponte's app and the demo seller on the emulated Selling Partner API, and the affiliate
that sells there through the real connector.

For the lead's runner (src/ponte/demo/marketplaces.py takes the functions below)::

    from ponte.connectors.amazon.demo import demo_affiliate

    amazon = demo_affiliate(sandbox_url, ponte_url)          # the app and the seller on the emulation (idempotent)
    create_affiliate(conn, box=box, account_id=account_id, code=amazon["code"], name=amazon["name"],
                     kind=amazon["kind"], connector=amazon["connector"],
                     settings={**amazon["settings"], **amazon["secrets"]}, **amazon["options"])

What the demo then shows: the catalog listed by putListingsItem as product type PRODUCT (item name, brand,
condition; the EAN as the external id); the SKU whose EAN Amazon's catalog holds under another brand turns red
with 8541, the brand Amazon must approve (the demo's restricted brand) with 5665, SKUs without a description are
"com aviso"; prices and stock follow by patches (by JSON_LISTINGS_FEED when many wait). Buyers' orders reach
Ponte by ORDER_CHANGE at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ponte.connectors.base import Grant, Identity
from ponte.demo.catalog import RESTRICTED_BRAND, demo_skus

CODE = "AMZ"
CLIENT_ID = "amzn1.application-oa2-client.demo0ponte0casaecia"
CLIENT_SECRET = "amzn1.oa2-cs.v1.demo-secret-casaecia"
APPLICATION_ID = "amzn1.sp.solution.demo-ponte"
SELLER_ID = "A1CASAECIADEMO"
CLASHING_SKU = "CC-00003"  # its EAN is in Amazon's catalog under another brand (8541)
OPTIONS = {"price_tolerance_pct": 5, "price_divergence_action": "approve"}


def _base(sandbox_url: str) -> str:
    return f"{sandbox_url.rstrip('/')}/amazon"


def _admin(sandbox_url: str, path: str, **body: Any) -> Any:
    answer = httpx.post(f"{_base(sandbox_url)}/_admin/{path}", json=body, timeout=10)
    return answer.raise_for_status().json()


def prepare(sandbox_url: str, ponte_url: str) -> None:
    """The app (its redirect URI and notification destination at this Ponte) and the demo seller."""
    _admin(
        sandbox_url,
        "apps",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        application_id=APPLICATION_ID,
        redirect_uris=[f"{ponte_url}/oauth/callback/amazon"],
        callback=f"{ponte_url}/notifications/amazon",
    )
    _admin(sandbox_url, "sellers", seller_id=SELLER_ID, name="Casa & Cia", restricted_brands=[RESTRICTED_BRAND])
    clash = next(s for s in demo_skus() if s["sku"] == CLASHING_SKU)
    _admin(sandbox_url, "catalog", products=[{"ean": clash["ean"], "asin": "B0DEMO0001", "brand": "Outra Marca"}])


def settings(sandbox_url: str) -> dict[str, Any]:
    """The affiliate's settings, its secret included: the real connector with only its base URLs on the emulation."""
    base = _base(sandbox_url)
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "application_id": APPLICATION_ID,
        "api_url": base,
        "token_url": f"{base}/auth/o2/token",
        "consent_url": f"{base}/sellercentral",
        "carriers": {"Correios": "Correios", "Jadlog": "Jadlog"},
    }


def demo_affiliate(sandbox_url: str, ponte_url: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    """Seed the emulation for the demo and give the affiliate's registration."""
    prepare(sandbox_url, ponte_url)
    values = settings(sandbox_url)
    secret = values.pop("client_secret")
    return {
        "code": CODE,
        "name": "Amazon",
        "kind": "marketplace",
        "connector": "amazon",
        "settings": values,
        "secrets": {"client_secret": secret},
        "options": dict(OPTIONS),
    }


def authorised(sandbox_url: str) -> tuple[Grant, Identity]:
    """Tokens as if the demo seller had confirmed on Seller Central's consent page (the Affiliates page's
    "Reconectar" walks the real flow)."""
    answer = _admin(sandbox_url, "grants", client_id=CLIENT_ID, seller_id=SELLER_ID)
    expires = datetime.now(UTC) + timedelta(seconds=answer["expires_in"])
    grant = Grant(answer["access_token"], answer["refresh_token"], expires, {"selling_partner_id": SELLER_ID})
    return grant, Identity(SELLER_ID, "Amazon.com.br", {"marketplace_id": "A2Q3Y263D00KWC"})


def buy(
    sandbox_url: str,
    *,
    sku: str,
    listing_id: str,
    quantity: int,
    price: float,
    postal_code: str,
    buyer: dict[str, Any],
) -> str:
    """A buyer's order of the listed SKU; Amazon tells Ponte by ORDER_CHANGE."""
    lines = [{"sku": sku, "quantity": quantity, "price": price}]
    body = {"seller_id": SELLER_ID, "lines": lines, "postal_code": postal_code, "buyer": buyer}
    return str(_admin(sandbox_url, "orders", **body)["order_id"])


def cancel(sandbox_url: str, order_id: str) -> None:
    """The buyer cancels: Amazon marks the order CANCELLED and tells Ponte."""
    _admin(sandbox_url, f"orders/{order_id}/status", status="CANCELLED")
