"""The Mirakl emulation as tests drive it: its /mirakl/_admin helpers, a standalone connector, and one clock for
Ponte and the emulation (a minute passes for both with one call, never a sleep).

tests/conftest.py lists this module in `pytest_plugins`: its fixtures (mirakl, make_mirakl) reach every test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ponte import clock
from ponte.connectors.base import Connector
from ponte.sandbox import SandboxServer
from sandbox_fixtures import standalone

SHOP, SHOP_NAME, KEY = 2001, "Loja Alice", "key-alice-2001"
EAN = "7891234567895"
CATEGORIES = {"celulares": ["Cor"], "acessorios": []}


class MiraklOperator:
    """The emulated operator's test helpers (never the seller API: that is the connector's)."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.url = f"{sandbox.url}/mirakl"

    def admin(self, path: str, **body: Any) -> dict[str, Any]:
        return httpx.post(f"{self.url}/_admin/{path}", json=body, timeout=10).raise_for_status().json()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_admin/{path}", params=params, timeout=10).raise_for_status().json()

    def shop(self, shop_id: int = SHOP, name: str = SHOP_NAME, key: str = KEY, **extra: Any) -> None:
        self.admin("shops", shop_id=shop_id, shop_name=name, api_key=key, **extra)

    def advance(self, seconds: float) -> None:
        """A while passes for the emulation and for Ponte alike (imports finish, rate limits refill)."""
        clock.advance(seconds)
        self.admin("clock", advance=seconds)

    def place_order(self, lines: list[dict[str, Any]], shop_id: int = SHOP, **extra: Any) -> dict[str, Any]:
        return self.admin("orders", shop_id=shop_id, lines=lines, **extra)

    def order(self, order_id: str) -> dict[str, Any]:
        return self.get(f"orders/{order_id}")

    def offers(self, *skus: str, shop_id: int = SHOP) -> dict[str, Any]:
        return self.get(f"shops/{shop_id}/offers", sku=list(skus))

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        params = {"operation": operation} if operation else {}
        return self.get("calls", **params)["calls"]


@pytest.fixture
def mirakl(sandbox: SandboxServer) -> Iterator[MiraklOperator]:
    """The emulation, emptied, with Alice's shop and the operator's categories; Ponte's clock put back after."""
    operator = MiraklOperator(sandbox)
    operator.shop()
    operator.admin("catalog", products=[{"ean": EAN, "title": "Smartphone Acme X1"}], categories=CATEGORIES)
    with clock.travelling():
        yield operator


@pytest.fixture
def make_mirakl(mirakl: MiraklOperator) -> Iterator[Callable[..., Connector]]:
    """Mirakl connectors used alone (rate limits in memory) on Alice's shop, closed after the test."""
    made: list[Connector] = []

    def make(key: str = KEY, **settings: Any) -> Connector:
        values = {"operator": "Carrefour", "base_url": mirakl.url, "shop_id": SHOP, **settings}
        connector = standalone("mirakl", values, {"api_key": key}, code="CRF")
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()
