"""The demo store's marketplaces: real connectors on the sandbox's emulations of their APIs (their packages'
`demo` modules say how), and Ponte's own test marketplaces (the sandbox's profiles) for the rest.

A real connector's `ponte.connectors.<kind>.demo` module offers: `prepare(sandbox_url, ponte_url)` (its app and
seller on the emulation), `settings(sandbox_url)` (the affiliate's settings, secrets included),
`authorised(sandbox_url)` (a grant as if the seller had approved the app; OAuth connectors only), `buy(sandbox_url,
*, sku, listing_id, quantity, price, postal_code, buyer)` (a buyer's order of a listed SKU) and `cancel(sandbox_url, order_id)`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx


@dataclass(frozen=True)
class DemoMarketplace:
    code: str
    name: str
    connector: str
    options: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None  # the sandbox profile, for Ponte's own test marketplaces

    @property
    def real(self) -> ModuleType | None:
        """The connector package's demo module, for a real connector."""
        return None if self.profile else importlib.import_module(f"ponte.connectors.{self.connector}.demo")

    def seller(self) -> tuple[str, str]:
        return f"casaecia-{self.profile}", f"demo-secret-{self.profile}"

    def prepare(self, sandbox_url: str, ponte_url: str) -> None:
        """Make the demo seller known to the marketplace (the sandbox keeps nothing of this between runs)."""
        if self.real is not None:
            self.real.prepare(sandbox_url, ponte_url)
            return
        client_id, secret = self.seller()
        body = {"client_id": client_id, "client_secret": secret}
        httpx.post(f"{sandbox_url}/{self.profile}/_admin/sellers", json=body, timeout=10).raise_for_status()

    def settings(self, sandbox_url: str) -> dict[str, Any]:
        if self.real is not None:
            return dict(self.real.settings(sandbox_url))
        client_id, secret = self.seller()
        return {"base_url": sandbox_url, "profile": self.profile, "client_id": client_id, "client_secret": secret}

    def buy(
        self,
        sandbox_url: str,
        *,
        sku: str,
        listing_id: str | None,
        quantity: int,
        price: float,
        postal_code: str,
        buyer: dict[str, Any],
    ) -> str | None:
        """A buyer's order of `sku` (by its listing on a real marketplace); None when it could not be placed."""
        if self.real is not None:
            if listing_id is None:
                return None
            try:
                return str(
                    self.real.buy(
                        sandbox_url,
                        sku=sku,
                        listing_id=listing_id,
                        quantity=quantity,
                        price=price,
                        postal_code=postal_code,
                        buyer=buyer,
                    )
                )
            except httpx.HTTPError:
                return None
        client_id, _ = self.seller()
        body = {
            "seller": client_id,
            "postal_code": postal_code,
            "items": [{"sku": sku, "quantity": quantity, "price": price}],
            "buyer": buyer,
        }
        answer = httpx.post(f"{sandbox_url}/{self.profile}/_buyer/orders", json=body, timeout=10)
        return str(answer.json()["id"]) if answer.status_code < 300 else None

    def cancel(self, sandbox_url: str, order_id: str) -> None:
        if self.real is not None:
            self.real.cancel(sandbox_url, order_id)
        else:
            httpx.post(f"{sandbox_url}/{self.profile}/_buyer/orders/{order_id}/cancel", timeout=10)


MARKETPLACES: tuple[DemoMarketplace, ...] = (
    DemoMarketplace("MLB", "Mercado Livre", "mercadolivre", {"price_tolerance_pct": 1}),
    DemoMarketplace(
        "CRF", "Carrefour (Mirakl)", "mirakl", {"price_tolerance_pct": 2, "price_divergence_action": "deny"}
    ),
    DemoMarketplace(
        "MGZ",
        "Magalu",
        "sandbox",
        {"min_availability": 3, "price_tolerance_pct": 2, "price_divergence_action": "hold"},
        "magalu",
    ),
    DemoMarketplace("AMZ", "Amazon", "amazon", {"price_tolerance_pct": 5, "price_divergence_action": "approve"}),
)


def by_code(code: str) -> DemoMarketplace | None:
    return next((m for m in MARKETPLACES if m.code == code), None)
