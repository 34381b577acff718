"""What the Mercado Livre emulation remembers: apps, sellers, grants, items, orders, shipments. One lock guards it."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    callback_url: str | None = None  # where orders_v2 notifications are posted
    pkce_required: bool = False


@dataclass
class Seller:
    user_id: int
    nickname: str
    tags: list[str] = field(default_factory=list)
    approved_brands: set[str] = field(default_factory=set)
    active: bool = True


@dataclass
class Code:
    client_id: str
    user_id: int
    redirect_uri: str
    challenge: str | None
    expires: float


@dataclass
class Token:
    client_id: str
    user_id: int
    expires: float


@dataclass
class Item:
    id: str
    seller_id: int
    body: dict[str, Any]  # what the seller sent, as Mercado Livre keeps it
    status: str = "active"  # active | paused | closed | under_review
    description: str | None = None
    sold_quantity: int = 0
    user_product_id: str | None = None
    sub_status: list[str] = field(default_factory=list)  # why it is not active ("out_of_stock", "suspended"…)
    deal_ids: list[str] = field(default_factory=list)  # promotions that set its price
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)


@dataclass
class Order:
    id: int
    seller_id: int
    body: dict[str, Any]  # the order JSON as GET /orders/{id} answers it
    billing: dict[str, Any]


@dataclass
class Shipment:
    id: int
    order_ids: list[int]
    mode: str  # me2 | me1
    zip_code: str
    status: str = "pending"  # pending → ready_to_ship → shipped
    substatus: str | None = "invoice_pending"
    invoice: dict[str, Any] | None = None  # {"id", "status", "xml"}
    tracking_number: str | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Config:
    token_ttl: float = 21600.0  # expires_in: 6 h [S]
    rate: float = 50.0  # requests a second per application (Client ID); Mercado Livre publishes no number
    burst: float = 100.0


class MeliState:
    """Everything the emulation holds, behind one lock (each operation is a few dictionary updates)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.config = Config()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.config = Config()
            self.apps: dict[str, App] = {}
            self.sellers: dict[int, Seller] = {}
            self.codes: dict[str, Code] = {}
            self.tokens: dict[str, Token] = {}
            self.refresh: dict[str, Token] = {}  # single use: spent on refresh
            self.items: dict[str, Item] = {}
            self.user_products: dict[str, dict[str, Any]] = {}  # id → {"locations": [...], "user_id"}
            self.orders: dict[int, Order] = {}
            self.shipments: dict[int, Shipment] = {}
            self.buckets: dict[str, tuple[float, float]] = {}  # client_id → (tokens, at)
            self.counter = 0
            self.scrolls: dict[str, int] = {}  # a scan's scroll_id → where its next page starts
            self.refreshes = 0  # refresh-token grants answered, for tests of the locked refresh
            self.throttled = 0  # requests answered 429
            self.delivered: list[dict[str, Any]] = []  # notifications posted to apps, with the answer's status

    def next_number(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def scroll(self, position: int) -> str:
        """A new scroll_id for a scan that goes on from `position`."""
        with self.lock:
            scroll = secrets.token_urlsafe(24)
            self.scrolls[scroll] = position
            return scroll

    # -- grants -----------------------------------------------------------------------------------------
    def issue(self, client_id: str, user_id: int) -> dict[str, Any]:
        """A token answer: a new access token and a new (single-use) refresh token."""
        with self.lock:
            access = f"APP_USR-{client_id}-{secrets.token_hex(8)}-{user_id}"
            refresh = f"TG-{secrets.token_hex(12)}-{user_id}"
            expires = self.clock() + self.config.token_ttl
            self.tokens[access] = Token(client_id, user_id, expires)
            self.refresh[refresh] = Token(client_id, user_id, expires)
            return {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": int(self.config.token_ttl),
                "scope": "offline_access read write",
                "user_id": user_id,
                "refresh_token": refresh,
            }

    def holder(self, access: str) -> Token | None:
        with self.lock:
            token = self.tokens.get(access)
            return token if token is not None and token.expires > self.clock() else None

    def revoke(self, user_id: int) -> int:
        """The seller removed the app's permission: every token and refresh token of theirs stops working."""
        with self.lock:
            gone = [t for t, v in self.tokens.items() if v.user_id == user_id]
            gone += [t for t, v in self.refresh.items() if v.user_id == user_id]
            for token in gone:
                self.tokens.pop(token, None)
                self.refresh.pop(token, None)
            return len(gone)

    def expire_tokens(self, user_id: int | None = None) -> int:
        """Access tokens die now (as after six hours); refresh tokens keep working."""
        with self.lock:
            hit = [t for t, v in self.tokens.items() if user_id is None or v.user_id == user_id]
            for token in hit:
                self.tokens[token].expires = 0.0
            return len(hit)

    def take(self, client_id: str) -> float | None:
        """A request of the app's quota; None when allowed, else seconds until one would be."""
        with self.lock:
            rate, burst = self.config.rate, self.config.burst
            tokens, at = self.buckets.get(client_id, (burst, self.clock()))
            now = self.clock()
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens < 1:
                self.buckets[client_id] = (tokens, now)
                return (1 - tokens) / rate
            self.buckets[client_id] = (tokens - 1, now)
            return None

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "apps": self.apps,
                "sellers": self.sellers,
                "tokens": self.tokens,  # a seller's grant outlives a restart, as on the real Mercado Livre
                "refresh": self.refresh,
                "items": self.items,
                "user_products": self.user_products,
                "orders": self.orders,
                "shipments": self.shipments,
                "counter": self.counter,
            }

    def restore(self, kept: dict[str, Any]) -> None:
        with self.lock:
            for name in ("apps", "sellers", "tokens", "refresh", "items", "user_products", "orders", "shipments"):
                getattr(self, name).update(kept.get(name) or {})
            self.counter = max(self.counter, int(kept.get("counter") or 0))
