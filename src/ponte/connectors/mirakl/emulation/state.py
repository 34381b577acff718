"""What the emulated Mirakl operator holds: its shops and their keys, its product catalog, each shop's offers,
imports and orders, its clock, and the calls it was asked to answer.

One operator instance serves every test and the demo; several Ponte affiliates can point at it with different shop
keys. Time is the emulation's own clock (`now()`): the real time plus what `_admin/clock` added, so that a test can
make an import finish, or a minute pass for the call frequencies, without waiting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Offer states the operator offers (OF61): Mirakl's default list starts with "11" for new products.
OFFER_STATES = {"11": "Novo", "10": "Usado - como novo", "1": "Recondicionado"}
IMPORT_SECONDS = 30.0  # an import is judged this long after it was sent (the emulation's clock)
PAGE = 10  # OR11's page when none is asked (Mirakl's default `max`) [secondary: api-evangelist conventions]
# Seconds between two calls of one operation by one shop, from the spec's "Maximum usage" of each (None: none).
# The spec declares no 429 (api-evangelist: "not one 429 response across 580 operations"); refusing a call that
# comes too soon with 429 and Retry-After is the emulation's choice, after Mirakl's help pages ("If you make too
# many calls, you might receive an HTTP 429 'Too Many Requests' error. The response will contain a Retry-After
# header") [secondary: help.useresponse.com, Mirakl authentication & limits].
INTERVALS: dict[str, float] = {
    "OF24": 60.0,
    "OF01": 60.0,  # offers only; with products: 15 minutes
    "P41": 900.0,
    "OR11": 60.0,
    "A01": 86_400.0,
    "H11": 3600.0,  # the catalog structure: "Maximum usage: Every hour" (H11, PM11, VL11)
    "PM11": 3600.0,
    "VL11": 3600.0,
    "OF51": 86_400.0,  # the offers export in full: "once per day"
    "OF51-differential": 60.0,  # with last_request_date: "once per minute"
}
PER_IMPORT = {"OF02": 60.0, "OF03": 60.0, "P42": 60.0}  # polling one import: once a minute
GRACE = 2.0  # seconds of clock skew forgiven between a client's rate limiter and the emulation's clock


@dataclass
class Shop:
    id: int
    name: str
    keys: list[str]
    state: str = "OPEN"
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)  # shop_sku → the offer's fields
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # shop sku → the integrated product's row
    applied: dict[str, float] = field(default_factory=dict)  # shop_sku → when its offer last changed (clock)
    deleted: dict[str, float] = field(default_factory=dict)  # shop_sku → when its offer was deleted (OF51's "deleted")


@dataclass
class Import:
    id: int
    shop_id: int
    api: str  # OF24, OF01 or P41
    created: float
    ready: float
    header: list[str]
    rows: list[dict[str, str]]
    status: str = "WAITING"
    reason: str = ""
    errors: dict[int, str] = field(default_factory=dict)  # row index → why it was refused
    # P41's lines the operator's transformation refused (P47), before integration: row index → why
    transform_errors: dict[int, str] = field(default_factory=dict)
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


@dataclass
class Line:
    id: str
    index: int
    sku: str
    quantity: int
    price: float
    shipping: float
    state: str = "WAITING_ACCEPTANCE"
    title: str = ""


@dataclass
class Order:
    id: str
    commercial_id: str
    shop_id: int
    created: float
    lines: list[Line]
    customer: dict[str, Any]
    state: str = "WAITING_ACCEPTANCE"
    updated: float = 0.0
    tracking: dict[str, Any] | None = None
    decided: float | None = None


@dataclass
class Operator:
    """The whole emulated instance (picklable: the sandbox keeps it between runs)."""

    name: str = "Carrefour"
    offset: float = 0.0  # seconds added to the real time
    shops: dict[int, Shop] = field(default_factory=dict)
    catalog: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (id type, id) → product
    categories: dict[str, list[str]] = field(default_factory=dict)  # category code → required attributes
    imports: dict[int, Import] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    import_seconds: float = IMPORT_SECONDS
    review: set[str] = field(default_factory=set)  # shop skus the operator has not reviewed yet
    refuse: dict[str, str] = field(default_factory=dict)  # shop sku → the message its lines are refused with
    untransformable: dict[str, str] = field(
        default_factory=dict
    )  # shop sku → why its product line fails transformation
    carriers: dict[str, str] = field(default_factory=lambda: {"CORREIOS": "Correios", "JADLOG": "Jadlog"})
    last_call: dict[tuple[Any, ...], float] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)  # every call answered: operation, shop, time, path
    next_import: int = 2000
    next_order: int = 1

    def now(self) -> float:
        return time.time() + self.offset

    def shop_of_key(self, key: str, shop_id: int | None) -> Shop | None:
        """The shop a key opens: the one asked for when the key's user has access to it, else its first."""
        shops = [shop for shop in self.shops.values() if key and key in shop.keys]
        if shop_id is not None:
            return next((shop for shop in shops if shop.id == shop_id), None)
        return shops[0] if shops else None

    def too_soon(self, operation: str, shop_id: int, scope: Any = None) -> float | None:
        """Seconds until `operation` may be called again by this shop (None: now), keeping the call's time."""
        interval = PER_IMPORT.get(operation) if scope is not None else INTERVALS.get(operation)
        at = self.now()
        if interval is None:
            return None
        key = (operation, shop_id, scope)
        last = self.last_call.get(key)
        if last is not None and at - last < interval - GRACE:
            return interval - (at - last)
        self.last_call[key] = at
        return None

    def product_known(self, shop: Shop, id_type: str, product_id: str) -> bool:
        if id_type == "SHOP_SKU":
            return product_id in shop.products
        return (id_type, product_id) in self.catalog


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
