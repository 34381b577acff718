"""What the emulated Amazon remembers: apps and sellers, LWA grants, listings, feeds and their documents, orders,
notifications waiting to be delivered, and the clock (moved by `_admin/clock`, never waited for)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

# Default usage plans (rate a second, burst), as each operation's description in the models prints them.
USAGE_PLANS: dict[str, tuple[float, float]] = {
    "putListingsItem": (5, 10),
    "patchListingsItem": (5, 5),
    "getListingsItem": (5, 10),
    "deleteListingsItem": (5, 5),
    "searchListingsItems": (5, 5),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2, 15),
    "getFeedDocument": (0.0222, 10),
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "confirmShipment": (2, 10),
}
# Product types the emulated catalog knows, each with the attributes it requires (a real one's come from the Product
# Type Definitions API's schema). Exactly one of the two identifier attributes is needed.
PRODUCT_TYPES: dict[str, list[str]] = {
    "PRODUCT": ["item_name", "brand", "condition_type"],
    "CELLULAR_PHONE": ["item_name", "brand", "condition_type", "main_product_image_locator", "color"],
    "HOME": ["item_name", "brand", "condition_type", "main_product_image_locator"],
    "LUGGAGE": ["item_name", "brand", "condition_type", "main_product_image_locator"],
}
IDENTIFIERS = ("externally_assigned_product_identifier", "supplier_declared_has_product_identifier_exemption")


@dataclass
class App:
    client_id: str
    client_secret: str
    application_id: str
    redirect_uris: list[str] = field(default_factory=list)
    callback: str | None = None  # where notifications are posted (an EventBridge API destination's endpoint)


@dataclass
class Seller:
    seller_id: str
    name: str
    restricted_brands: set[str] = field(default_factory=set)


@dataclass
class Token:
    client_id: str
    seller_id: str
    expires_at: float


@dataclass
class Listing:
    seller_id: str
    sku: str
    product_type: str
    attributes: dict[str, Any]
    asin: str | None
    created: float
    updated: float
    issues: list[dict[str, Any]] = field(default_factory=list)  # what the last submission left (warnings)
    later: list[dict[str, Any]] = field(default_factory=list)  # what Amazon found after it accepted the listing


@dataclass
class Feed:
    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list[str]
    document_id: str
    created: float
    status: str = "IN_QUEUE"
    result_document_id: str | None = None


@dataclass
class Document:
    document_id: str
    seller_id: str
    content_type: str
    content: bytes | None = None


@dataclass
class Market:
    """Everything the emulated Amazon holds, behind one lock."""

    apps: dict[str, App] = field(default_factory=dict)
    sellers: dict[str, Seller] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, str, float]] = field(default_factory=dict)  # code → client, seller, uri, until
    refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token → client, seller
    tokens: dict[str, Token] = field(default_factory=dict)
    listings: dict[tuple[str, str], Listing] = field(default_factory=dict)
    catalog: dict[str, tuple[str, str]] = field(default_factory=dict)  # EAN → (ASIN, brand) Amazon already has
    product_types: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in PRODUCT_TYPES.items()})
    feeds: dict[str, Feed] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    shipments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # order → confirmShipment bodies
    notifications: list[dict[str, Any]] = field(default_factory=list)  # sent, newest last
    buckets: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (seller, operation) → tokens, at
    rates: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(USAGE_PLANS))
    calls: list[dict[str, Any]] = field(default_factory=list)
    token_ttl: float = 3600.0
    feed_seconds: float = 60.0  # a feed is processed this long after it was created
    offset: float = 0.0  # the clock's advance
    counter: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def now(self) -> float:
        return time.time() + self.offset

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def take(self, seller_id: str, operation: str) -> float | None:
        """A token of the seller's bucket for `operation`; the seconds to wait when there is none."""
        rate, burst = self.rates.get(operation, (1000.0, 1000.0))
        with self.lock:
            now = self.now()
            tokens, at = self.buckets.get((seller_id, operation), [burst, now])
            tokens = min(burst, tokens + max(0.0, now - at) * rate)
            if tokens < 1:
                self.buckets[(seller_id, operation)] = [tokens, now]
                return (1 - tokens) / rate
            self.buckets[(seller_id, operation)] = [tokens - 1, now]
            self.calls.append({"operation": operation, "seller_id": seller_id, "at": now})
            return None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()
