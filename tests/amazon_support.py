"""The Amazon emulation as tests drive it: an app and a seller on it, connectors for them (already granted, or
with a private app's pasted refresh token), its /amazon/_admin helpers, and one clock for Ponte and the emulation.

tests/conftest.py lists this module in `pytest_plugins`: its fixtures (amazon, make_amazon) reach every test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ponte import clock
from ponte.connectors.base import Connector, Grant
from ponte.connectors.context import standalone_context
from ponte.connectors.registry import build_connector, get_connector_class, validate_settings
from ponte.sandbox import SandboxServer

CLIENT_ID = "amzn1.application-oa2-client.emulated0001"
CLIENT_SECRET = "amzn1.oa2-cs.v1.emulated-secret"
APPLICATION_ID = "amzn1.sp.solution.emulated-ponte"
SELLER_ID = "A3SELLERALICE1"
BRAZIL = "A2Q3Y263D00KWC"
EAN = "7891234567895"


class AmazonWorld:
    """The emulated Amazon with Ponte's app and Alice's seller account."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.url = f"{sandbox.url}/amazon"
        self.made: list[Connector] = []

    def admin(self, path: str, **body: Any) -> Any:
        return httpx.post(f"{self.url}/_admin/{path}", json=body, timeout=10).raise_for_status().json()

    def get(self, path: str, **params: Any) -> Any:
        return httpx.get(f"{self.url}/_admin/{path}", params=params, timeout=10).raise_for_status().json()

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "client_id": CLIENT_ID,
            "application_id": APPLICATION_ID,
            "api_url": self.url,
            "token_url": f"{self.url}/auth/o2/token",
            "consent_url": f"{self.url}/sellercentral",
            **changes,
        }

    def grant(self, seller_id: str = SELLER_ID) -> Grant:
        """Tokens as if the seller had approved the app (for tests not about the consent page)."""
        answer = self.admin("grants", client_id=CLIENT_ID, seller_id=seller_id)
        expires = datetime.now(UTC) + timedelta(seconds=answer["expires_in"])
        return Grant(answer["access_token"], answer["refresh_token"], expires, {"selling_partner_id": seller_id})

    def connector(self, *, grant: Grant | None = None, granted: bool = True, **settings: Any) -> Connector:
        """A connector used alone (credentials and rates in memory)."""
        values = self.settings(**settings)
        secrets = {"client_secret": CLIENT_SECRET, **{k: values.pop(k) for k in ("refresh_token",) if k in values}}
        rates = get_connector_class("amazon").rates(validate_settings("amazon", values, secrets))
        given = grant or (self.grant() if granted else None)
        context = standalone_context("AMZ", rates=rates, grant=given, timeout=5.0)
        made = build_connector("amazon", values, secrets, context=context)
        self.made.append(made)
        return made

    def listings(self, *skus: str) -> dict[str, Any]:
        return dict(self.get("listings", seller_id=SELLER_ID, sku=list(skus))["listings"])

    def advance(self, seconds: float) -> None:
        """A while passes for the emulation and for Ponte alike (feeds are processed, quotas refill)."""
        clock.advance(seconds)
        self.admin("clock", advance=seconds)

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        params = {"operation": operation} if operation else {}
        return list(self.get("calls", **params)["calls"])


@pytest.fixture
def amazon(sandbox: SandboxServer) -> Iterator[AmazonWorld]:
    """The emulation, emptied, with Ponte's app and Alice's seller account; Ponte's clock put back after."""
    world = AmazonWorld(sandbox)
    world.admin("apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, application_id=APPLICATION_ID)
    world.admin("sellers", seller_id=SELLER_ID, name="Loja Alice")
    world.admin("catalog", products=[{"ean": EAN, "asin": "B0ACMEX100", "brand": "Acme"}])
    with clock.travelling():
        yield world
    for connector in world.made:
        connector.close()


@pytest.fixture
def make_amazon(amazon: AmazonWorld) -> Callable[..., Connector]:
    return amazon.connector
