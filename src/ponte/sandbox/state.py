"""The sandbox's memory: sellers, tokens, listings, orders, rate buckets. One lock guards it all.

Operations are small dictionary updates, so a single lock is cheaper than anything cleverer.
"""

from __future__ import annotations

import math
import pickle
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUTO_SECRET = "secret"  # a client asking for a token with this secret (or "secret-…") is registered on the fly


@dataclass
class Seller:
    client_id: str
    client_secret: str
    seller_id: str
    active: bool = True
    approved_brands: set[str] = field(default_factory=set)


@dataclass
class Item:
    sku: str
    item_id: str
    seller_id: str
    status: str  # active, under_review, paused, inactive
    category: str | None
    data: dict[str, Any]
    list_price: float | None = None
    price: float | None = None
    quantity: int | None = None
    handling_days: int | None = None


@dataclass
class Order:
    id: str
    seq: int
    seller_id: str
    items: list[dict[str, Any]]
    postal_code: str
    buyer: dict[str, Any]
    shipping_total: float
    total: float
    created_at: str
    status: str = "new"  # new, acknowledged, cancelled
    ack: dict[str, Any] | None = None
    shipments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Config:
    """Knobs a test or the demo may turn at runtime (POST /_control/config)."""

    token_ttl: float = 3600.0
    rate: float = 100.0  # requests per second per seller
    burst: float = 200.0
    max_discount: float = 0.5  # a price below 50% of the list price is refused
    discount_notice: float = 0.4  # above 40% it is accepted with a remark
    restricted_brands: set[str] = field(default_factory=lambda: {"Nike", "Apple", "LEGO"})


@dataclass
class Bucket:
    tokens: float
    updated: float


class Marketplace:
    """The state of one profile."""

    def __init__(self) -> None:
        self.sellers: dict[str, Seller] = {}  # by client_id
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (client_id, expires at, monotonic)
        self.items: dict[tuple[str, str], Item] = {}  # (seller_id, sku)
        self.eans: dict[tuple[str, str], str] = {}  # (seller_id, ean) -> sku
        self.orders: dict[str, Order] = {}
        self.feed: list[Order] = []  # in creation order; the cursor is an index into it
        self.buckets: dict[str, Bucket] = {}


class SandboxState:
    """All profiles' state and the runtime config, behind one lock."""

    def __init__(self, profiles: list[str], config: Config | None = None) -> None:
        self.lock = threading.Lock()
        self.config = config or Config()
        self.names = list(profiles)
        self.markets = {name: Marketplace() for name in profiles}
        self.order_counter = 0

    def reset(self) -> None:
        with self.lock:
            self.markets = {name: Marketplace() for name in self.names}
            self.order_counter = 0

    def save(self, path: Path) -> None:
        """Keep listings, orders and sellers across restarts (the demo's marketplaces remember its catalog).
        Tokens and rate buckets are not kept: they live on a clock that does not survive a restart."""
        with self.lock:
            for market in self.markets.values():
                market.tokens.clear()
                market.buckets.clear()
            blob = pickle.dumps((self.markets, self.order_counter))
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)

    def load(self, path: Path) -> bool:
        """Restore what `save` wrote (a file Ponte itself made in its data folder); False when there is none."""
        if not path.is_file():
            return False
        try:
            markets, counter = pickle.loads(path.read_bytes())
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            return False
        with self.lock:
            self.markets.update({name: m for name, m in markets.items() if name in self.markets})
            self.order_counter = counter
        return True

    # -- sellers and tokens ---------------------------------------------------------------------------

    def register_seller(self, profile: str, seller: Seller) -> Seller:
        with self.lock:
            self.markets[profile].sellers[seller.client_id] = seller
            return seller

    def issue_token(self, profile: str, client_id: str, client_secret: str) -> tuple[Seller, str] | None:
        """A new access token, or None when the credentials are wrong."""
        market = self.markets[profile]
        with self.lock:
            seller = market.sellers.get(client_id)
            if seller is None and (client_secret == AUTO_SECRET or client_secret.startswith(AUTO_SECRET + "-")):
                seller = market.sellers[client_id] = Seller(client_id, client_secret, client_id)
            if seller is None or not secrets.compare_digest(seller.client_secret, client_secret):
                return None
            token = f"APP_USR-{secrets.token_hex(16)}"
            market.tokens[token] = (client_id, time.monotonic() + self.config.token_ttl)
            return seller, token

    def seller_for_token(self, profile: str, token: str) -> Seller | None:
        """The seller an unexpired token belongs to."""
        market = self.markets[profile]
        with self.lock:
            entry = market.tokens.get(token)
            if entry is None:
                return None
            if entry[1] <= time.monotonic():
                del market.tokens[token]
                return None
            return market.sellers.get(entry[0])

    def expire_tokens(self) -> int:
        with self.lock:
            count = sum(len(m.tokens) for m in self.markets.values())
            for market in self.markets.values():
                market.tokens.clear()
            return count

    def take(self, profile: str, seller_id: str) -> float | None:
        """Spend one request from the seller's token bucket; the seconds to wait when it is empty."""
        now = time.monotonic()
        rate, burst = self.config.rate, self.config.burst
        with self.lock:
            buckets = self.markets[profile].buckets
            bucket = buckets.get(seller_id)
            if bucket is None:
                bucket = buckets[seller_id] = Bucket(burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return (1 - bucket.tokens) / rate if rate > 0 else 60.0

    # -- orders -----------------------------------------------------------------------------------------

    def add_order(self, profile: str, make_id: Any, **fields: Any) -> Order:
        with self.lock:
            self.order_counter += 1
            market = self.markets[profile]
            created = datetime.now(UTC).isoformat(timespec="seconds")
            order = Order(id=make_id(self.order_counter), seq=len(market.feed) + 1, created_at=created, **fields)
            market.orders[order.id] = order
            market.feed.append(order)
            return order

    def feed_page(self, profile: str, seller_id: str, since: int, limit: int) -> tuple[list[Order], int]:
        """The seller's orders after position `since`, and the position to resume from."""
        with self.lock:
            feed = self.markets[profile].feed
            found: list[Order] = []
            position = since
            for order in feed[since:]:
                position = order.seq
                if order.seller_id == seller_id:
                    found.append(order)
                    if len(found) >= limit:
                        break
            return found, position


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, never 0 (clients would hammer)."""
    return str(max(1, math.ceil(seconds)))
