"""Fixtures for tests that talk to the sandbox marketplace over real HTTP.

tests/conftest.py lists this module in `pytest_plugins`, so the fixtures (sandbox_server, sandbox,
make_connector) reach every test; modules import only the helpers (product, nfe_key, admin_get, SELLER).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ponte.connectors import outbound
from ponte.connectors.base import (
    Connector,
    OrderLine,
    OrderSend,
    PriceSend,
    ProductSend,
    StockSend,
    TrackingSend,
)
from ponte.connectors.context import standalone_context
from ponte.connectors.registry import build_connector, get_connector_class, validate_settings
from ponte.sandbox import SandboxServer
from ponte.sandbox.catalog import nfe_check_digit
from ponte.settings import load_settings

SELLER = "loja-alice"


@pytest.fixture(scope="session", name="sandbox_server")
def sandbox_server_fixture() -> Iterator[SandboxServer]:
    """One sandbox for the session, on a free port of 127.0.0.1, stopped at the end."""
    with SandboxServer(seed=7) as server:
        allow_outbound(server.url)
        yield server


def allow_outbound(url: str) -> None:
    """Let Ponte call a test's own server on loopback as an operator would: its exact address and port added to
    PONTE_OUTBOUND_ALLOW, read back through the settings and given to the outbound policy. Nothing else of
    loopback is allowed, so the policy's refusals stay testable."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    listed = [p for p in os.environ.get("PONTE_OUTBOUND_ALLOW", "").split(",") if p]
    os.environ["PONTE_OUTBOUND_ALLOW"] = ",".join([*listed, f"{host}:{parts.port}"])
    outbound.allow(load_settings().outbound_allow)


@pytest.fixture(autouse=True)
def _outbound_allowances_end_with_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test allows (allow_outbound) ends with it: a port allowed for one test's server, freed and later given
    to another test's server that must be refused, would otherwise still be allowed. Session fixtures (the
    sandbox) are set up before this one, so their allowance stays."""
    monkeypatch.setattr(outbound, "_allowed", outbound.allowed())
    monkeypatch.setenv("PONTE_OUTBOUND_ALLOW", os.environ.get("PONTE_OUTBOUND_ALLOW", ""))


@pytest.fixture(name="sandbox")
def sandbox_fixture(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, emptied: no sellers, orders or faults, default limits, counters at zero."""
    sandbox_server.control("reset")
    return sandbox_server


@pytest.fixture(name="make_connector")
def make_connector_fixture(sandbox: SandboxServer) -> Iterator[Callable[..., Connector]]:
    """Build sandbox connectors for a profile (seller alice, auto-registered), closed after the test."""
    made: list[Connector] = []

    def make(profile: str = "magalu", *, secret: str = "secret", timeout: float = 3.0, **settings: Any) -> Connector:
        values = {"base_url": sandbox.url, "profile": profile, "client_id": SELLER, **settings}
        connector = standalone("sandbox", values, {"client_secret": secret}, code=profile.upper()[:8], timeout=timeout)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def product(sku: str = "CEL-001", **changes: Any) -> dict[str, Any]:
    """A phone that every profile accepts as it is."""
    data = {
        "sku": sku,
        "name": "Smartphone Acme X1 128 GB",
        "brand": "Acme",
        "category": "1055",
        "ean": "7891234567895",
        "description": "Tela de 6,1 polegadas, 128 GB.",
        "attributes": {"MODEL": "X1", "Cor": "Preto"},
        "images": ["https://cdn.example.com/x1-front.jpg", "https://cdn.example.com/x1-back.png"],
        "weight_g": 180,
        "height_cm": 15.0,
        "width_cm": 7.5,
        "length_cm": 1.0,
        "active": True,
    }
    data.update(changes)
    return data


def nfe_key(first43: str = "3524011234567800019955001000000123100000123") -> str:
    """A valid 44-digit NF-e key made from its first 43 digits."""
    return first43 + str(nfe_check_digit(first43))


def admin_get(sandbox: SandboxServer, path: str, **params: Any) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}{path}", params=params, timeout=5.0).raise_for_status().json()


def standalone(
    kind: str,
    settings: dict[str, Any],
    secrets: dict[str, Any],
    *,
    code: str = "X",
    timeout: float = 3.0,
    body_limit: int = 16_384,
) -> Connector:
    """A connector used alone: its credentials and rate limits in memory (no database)."""
    cls = get_connector_class(kind)
    rates = cls.rates(validate_settings(kind, settings, secrets))
    context = standalone_context(code, rates=rates, timeout=timeout, body_limit=body_limit)
    return build_connector(kind, settings, secrets, context=context)


def product_send(sku: str = "CEL-001", **changes: Any) -> ProductSend:
    """`product()` as the engine hands it to a connector, with a price and stock."""
    data = product(sku, **changes)
    return ProductSend(
        sku=data["sku"],
        name=data["name"],
        brand=data["brand"],
        category=data["category"],
        ean=data["ean"],
        description=data["description"],
        attributes=data["attributes"],
        images=tuple(data["images"]),
        weight_g=data["weight_g"],
        height_cm=_dec(data["height_cm"]),
        width_cm=_dec(data["width_cm"]),
        length_cm=_dec(data["length_cm"]),
        active=data["active"],
        price=_dec(data.get("price", 899.0)),
        list_price=_dec(data.get("list_price", 999.0)),
        quantity=int(data.get("quantity", 10)),
        listing=data.get("listing"),
        marketplace_category=data.get("marketplace_category"),
    )


def price_send(sku: str, list_price: float | None, price: float | None, **extra: Any) -> PriceSend:
    return PriceSend(sku=sku, list_price=_dec(list_price), price=_dec(price), **extra)


def stock_send(sku: str, quantity: int, handling_days: int = 1, **extra: Any) -> StockSend:
    return StockSend(sku=sku, quantity=quantity, handling_days=handling_days, **extra)


def tracking_send(data: dict[str, Any]) -> TrackingSend:
    return TrackingSend(
        order_id=data["order_id"],
        invoice_key=data.get("invoice_key"),
        invoice_xml=data.get("invoice_xml"),
        carrier=data.get("carrier"),
        tracking_number=data.get("tracking_number"),
        items=tuple(OrderLine(i["sku"], i["quantity"], Decimal(str(i.get("price", 0)))) for i in data["items"]),
        marketplace_data=data.get("marketplace_data", {}),
    )


def order_send(order_id: str, total: float = 10.0) -> OrderSend:
    return OrderSend(
        order_id=order_id,
        marketplace="MLB",
        status="placed",
        buyer={"name": "Ana Souza"},
        items=(OrderLine("A", 1, Decimal(str(total))),),
        total=Decimal(str(total)),
        shipping_total=Decimal("0"),
        postal_code="01310100",
        sla="Normal",
        placed_at=None,
    )


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
