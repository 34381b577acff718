"""The demo store on the emulated Mercado Livre: the app as registered in the DevCenter, the demo seller who
authorised it, and the buyers `ponte run` plays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ponte.connectors.base import Grant, Identity

CLIENT_ID = "4208101417421331"
CLIENT_SECRET = "demo-app-secret-mercadolivre"
SELLER_ID = 212345678
NICKNAME = "CASAECIA.OFICIAL"
DEMO_RATE = 100.0  # requests a second of the demo app


def _admin(sandbox_url: str, path: str, **body: Any) -> Any:
    answer = httpx.post(f"{sandbox_url}/mercadolivre/_admin{path}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def prepare(sandbox_url: str, ponte_url: str) -> None:
    """The app (redirect URI and notification URL pointing at this Ponte) and the demo seller, on the emulation."""
    _admin(
        sandbox_url,
        "/apps",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[f"{ponte_url}/oauth/callback/mercadolivre"],
        callback_url=f"{ponte_url}/notifications/mercadolivre",
        pkce_required=True,
    )
    _admin(sandbox_url, "/sellers", user_id=SELLER_ID, nickname=NICKNAME, tags=["normal", "user_product_seller"])
    # The demo's app is a busy integrator's: Mercado Livre grants such apps more than the connector's cautious default.
    _admin(sandbox_url, "/config", rate=DEMO_RATE * 2, burst=DEMO_RATE * 4)


def settings(sandbox_url: str) -> dict[str, Any]:
    """The affiliate's settings: the real connector, with only its base URLs pointing at the emulation."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_url": f"{sandbox_url}/mercadolivre/api",
        "auth_url": f"{sandbox_url}/mercadolivre/auth",
        "requests_per_second": DEMO_RATE,
    }


def authorised(sandbox_url: str) -> tuple[Grant, Identity]:
    """Tokens as if the demo seller had approved the app on the consent page (the Affiliates page's "Reconectar"
    walks the real flow)."""
    answer = _admin(sandbox_url, "/grants", client_id=CLIENT_ID, user_id=SELLER_ID)
    expires = datetime.now(UTC) + timedelta(seconds=answer["expires_in"])
    grant = Grant(answer["access_token"], answer["refresh_token"], expires, {"user_id": answer["user_id"]})
    return grant, Identity(str(SELLER_ID), NICKNAME, {"tags": ["normal", "user_product_seller"]})


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
    """A buyer's purchase; the emulation notifies Ponte (orders_v2) as Mercado Livre would."""
    first, _, last = str(buyer.get("name") or "Ana Souza").partition(" ")
    body = {
        "seller_id": SELLER_ID,
        "items": [{"item_id": listing_id, "quantity": quantity, "unit_price": price}],
        "zip_code": postal_code,
        "buyer": {"first_name": first, "last_name": last, "doc_type": "CPF", "doc_number": buyer.get("document")},
    }
    return str(_admin(sandbox_url, "/orders", **body)["orders"][0])


def cancel(sandbox_url: str, order_id: str) -> None:
    _admin(sandbox_url, f"/orders/{order_id}/status", status="cancelled")
