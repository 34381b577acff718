"""Fixtures for tests of the Mercado Livre connector against the sandbox's emulation of Mercado Livre, over real HTTP.

`meli` registers an app and a seller on the emulation and builds connectors for them; `meli_hub` adds a real
database, an affiliate connected through the credential store and a worker (tests/conftest.py lists this module in
`pytest_plugins`, so every test can take them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ponte.connectors.base import Connector, Grant, Identity
from ponte.connectors.context import standalone_context
from ponte.connectors.registry import build_connector, get_connector_class, validate_settings
from ponte.sandbox import SandboxServer

CLIENT_ID = "5503910054141466"
CLIENT_SECRET = "emulated-app-secret"
SELLER_ID = 123456789
NICKNAME = "CASAECIA_OFICIAL"


@dataclass
class Meli:
    """The emulated Mercado Livre with one app and one seller, and ways to poke it."""

    sandbox: SandboxServer
    made: list[Connector] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"{self.sandbox.url}/mercadolivre"

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {"client_id": CLIENT_ID, "api_url": f"{self.base}/api", "auth_url": f"{self.base}/auth", **changes}

    def admin(self, method: str, path: str, **body: Any) -> Any:
        answer = httpx.request(method, f"{self.base}/_admin{path}", json=body or None, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def grant(self, user_id: int = SELLER_ID) -> Grant:
        """Tokens as if the seller had approved the app (for tests not about the consent page)."""
        answer = self.admin("POST", "/grants", client_id=CLIENT_ID, user_id=user_id)
        expires = datetime.now(UTC) + timedelta(seconds=answer["expires_in"])
        return Grant(answer["access_token"], answer["refresh_token"], expires, {"user_id": answer["user_id"]})

    def connector(self, *, grant: Grant | None = None, timeout: float = 5.0, **settings: Any) -> Connector:
        """A connector used alone (credentials and rates in memory), already granted unless `grant` says otherwise."""
        values = self.settings(**settings)
        secrets = {"client_secret": CLIENT_SECRET}
        rates = get_connector_class("mercadolivre").rates(validate_settings("mercadolivre", values, secrets))
        context = standalone_context("MLB", rates=rates, grant=grant or self.grant(), timeout=timeout)
        made = build_connector("mercadolivre", values, secrets, context=context)
        self.made.append(made)
        return made

    def items(self, sku: str | None = None) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"/items?seller_sku={sku}" if sku else "/items"))

    def buy(self, item_id: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
        """A buyer's purchase of an item; the emulation notifies the apps the seller authorised."""
        return dict(
            self.admin(
                "POST", "/orders", seller_id=SELLER_ID, items=[{"item_id": item_id, "quantity": quantity}], **extra
            )
        )

    def stats(self) -> dict[str, Any]:
        return dict(self.admin("GET", "/stats"))


@pytest.fixture(name="meli")
def meli_fixture(sandbox: SandboxServer) -> Iterator[Meli]:
    world = Meli(sandbox)
    world.admin("POST", "/apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[], pkce_required=True)
    world.admin("POST", "/sellers", user_id=SELLER_ID, nickname=NICKNAME, tags=["normal", "user_product_seller"])
    yield world
    for connector in world.made:
        connector.close()


def identity() -> Identity:
    return Identity(str(SELLER_ID), NICKNAME, {"tags": ["normal"]})


MakeMeli = Callable[..., Connector]
