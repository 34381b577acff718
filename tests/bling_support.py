"""The Bling emulation as tests drive it: its /bling/_admin helpers, a standalone connector, and one clock for Ponte
and the emulation (a minute passes for both with one call, never a sleep).

tests/conftest.py lists this module in `pytest_plugins`: its fixtures (bling, make_bling) reach every test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ponte import clock
from ponte.connectors.base import Connector, Grant, OrderLine, OrderSend
from ponte.connectors.context import standalone_context
from ponte.connectors.registry import build_connector, get_connector_class, validate_settings
from ponte.sandbox import SandboxServer

CLIENT_ID, CLIENT_SECRET = "b1e5a7c0d9f24e3a8c61", "emulated-bling-secret"
COMPANY, COMPANY_NAME = "436c56a5679921f5f13a3d6433561773", "Casa & Cia Comércio LTDA"
PAYMENT, STORE = 1, 203000001
PRODUCTS = [
    {"codigo": "CEL-001", "nome": "Smartphone Acme X1 128 GB", "preco": 1999.9},
    {"codigo": "CAPA-002", "nome": "Capa para Acme X1", "preco": 49.9},
]


class BlingWorld:
    """The emulated Bling's test helpers (never the API: that is the connector's)."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.url = f"{sandbox.url}/bling"
        self.api_url = f"{self.url}/Api/v3"

    def admin(self, path: str, **body: Any) -> Any:
        return httpx.post(f"{self.url}/_admin/{path}", json=body, timeout=10).raise_for_status().json()

    def get(self, path: str, **params: Any) -> Any:
        return httpx.get(f"{self.url}/_admin/{path}", params=params, timeout=10).raise_for_status().json()

    def grant(self) -> Grant:
        """Tokens as if the company had approved the app (for tests not about the consent page)."""
        answer = self.admin("grants", client_id=CLIENT_ID, company=COMPANY)
        expires = datetime.now(UTC) + timedelta(seconds=answer["expires_in"])
        return Grant(answer["access_token"], answer["refresh_token"], expires, {"scope": answer["scope"]})

    def advance(self, seconds: float) -> None:
        """A while passes for the emulation and for Ponte alike (NF-e are issued, rate limits refill)."""
        clock.advance(seconds)
        self.admin("clock", advance=seconds)

    def sales(self) -> list[dict[str, Any]]:
        return list(self.get("sales", company=COMPANY)["sales"])

    def notes(self) -> list[dict[str, Any]]:
        return list(self.get("notes", company=COMPANY)["notes"])

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "client_id": CLIENT_ID,
            "api_url": self.api_url,
            "auth_url": self.api_url,
            "payment_method_id": PAYMENT,
            "store_ids": {"MLB": STORE},
            **changes,
        }


@pytest.fixture
def bling(sandbox: SandboxServer) -> Iterator[BlingWorld]:
    """The emulation, emptied, with the app, the company, its products; Ponte's clock put back after."""
    world = BlingWorld(sandbox)
    world.admin("apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri="http://127.0.0.1:1/cb")
    world.admin("companies", id=COMPANY, nome=COMPANY_NAME, payment_methods=[PAYMENT], stores=[STORE])
    world.admin("products", company=COMPANY, products=PRODUCTS)
    world.admin("config", rate=1000)  # most tests are not about the limit: they set it back to 3 when they are
    with clock.travelling():
        yield world


@pytest.fixture
def make_bling(bling: BlingWorld) -> Iterator[Callable[..., Connector]]:
    """Bling connectors used alone (credentials and rate limits in memory), granted unless `grant` says otherwise."""
    made: list[Connector] = []

    def make(*, grant: Grant | bool | None = True, **settings: Any) -> Connector:
        values = bling.settings(**settings)
        secrets = {"client_secret": CLIENT_SECRET}
        rates = get_connector_class("bling").rates(validate_settings("bling", values, secrets))
        given = bling.grant() if grant is True else (grant or None)
        context = standalone_context("BLING", rates=rates, grant=given, timeout=5.0)  # type: ignore[arg-type]
        connector = build_connector("bling", values, secrets, context=context)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def order_send(order_id: str = "2000008123456789", **changes: Any) -> OrderSend:
    """A placed Mercado Livre order as the engine hands it to an ERP."""
    data: dict[str, Any] = {
        "order_id": order_id,
        "marketplace": "MLB",
        "status": "placed",
        "buyer": {
            "name": "Ana Souza",
            "document": "529.982.247-25",
            "email": "ana@example.com",
            "phone": "11987654321",
        },
        "items": (OrderLine("CEL-001", 1, Decimal("1999.90")), OrderLine("CAPA-002", 2, Decimal("49.90"))),
        "total": Decimal("2119.60"),
        "shipping_total": Decimal("19.90"),
        "postal_code": "01310100",
        "sla": "Normal",
        "placed_at": datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
    }
    data.update(changes)
    return OrderSend(**data)


BlingMaker = Callable[..., Connector]


DEPOSIT, SHOP_DEPOSIT = 14_888_000_001, 14_888_000_002
CATALOG = [
    {
        "codigo": "CEL-001", "nome": "Smartphone Acme X1 128 GB", "preco": 1999.9, "gtin": "7891234567895",
        "descricaoCurta": "Tela de 6,1 polegadas", "marca": "Acme", "pesoBruto": 0.35, "categoria": {"id": 1055},
        "dimensoes": {"largura": 8, "altura": 16, "profundidade": 1, "unidadeMedida": 1},
        "midia": {"video": {"url": ""}, "imagens": {"externas": [{"link": "https://img.example/cel-001.jpg"}]}},
        "saldos": {str(DEPOSIT): 12, str(SHOP_DEPOSIT): 3},
    },
    {
        "codigo": "CAMISA", "nome": "Camisa Polo", "preco": 89.9, "descricaoCurta": "Algodão",
        "variacoes": [
            {"codigo": "CAMISA-P", "nome": "Camisa Polo Tamanho:P", "preco": 89.9, "saldos": {str(DEPOSIT): 4}},
            {"codigo": "CAMISA-M", "nome": "Camisa Polo Tamanho:M", "preco": 94.9, "saldos": {str(DEPOSIT): 0}},
        ],
    },
]  # fmt: skip


def catalog_products(n: int, start: int = 0) -> list[dict[str, Any]]:
    """`n` plain products with a valid price and balance (codes BLG-00000…)."""
    return [
        {"codigo": f"BLG-{i:05d}", "nome": f"Produto {i}", "preco": 10 + i % 90, "saldos": {str(DEPOSIT): i % 7}}
        for i in range(start, start + n)
    ]
