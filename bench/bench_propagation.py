"""Propagation: how soon a price change of every SKU reaches every marketplace, against the floor its rate limits
allow.

A store lists N SKUs on the emulated Mercado Livre (listings written straight into Ponte and the emulation, as
after a first sync), then changes every price at once through the catalog service. Worker processes send them
through the real connector while the emulation enforces the same rate the connector declares; the figure is the
time until the emulation holds every new price. The floor is what the rate allows: the burst at once, the rest at
the rate. Target: ≤ 1.25 × the floor, with no 429 after the first, and the Connections list (the API's list of
the price tab, the query the page runs) still ≤ 50 ms p95 meanwhile.

Other marketplaces add their part as `propagate_<kind>(settings, folder, skus)` in `bench/propagation_<kind>.py`
returning BENCH lines; `run` calls those it finds.
"""

from __future__ import annotations

import importlib
import random
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import (
    ApiServer,
    Latencies,
    allow_sandbox,
    bench_database,
    bench_line,
    note,
    scratch_folder,
    stop_process,
    wait_until,
    worker_process,
    worker_running,
)
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.connectors.base import Grant, Identity
from ponte.connectors.mercadolivre.emulation.state import Item, Seller
from ponte.domain import Role
from ponte.engine.credentials import StoredCredentials
from ponte.sandbox import SandboxServer
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import PriceInput, set_prices
from ponte.services.tokens import create_token
from ponte.settings import Settings
from ponte.store.db import Database, insert_many
from ponte.store.tables import affiliates, listings, skus, stock

QUICK_SKUS, FULL_SKUS = 3_000, 100_000
QUICK_RATE, FULL_RATE = 100.0, 200.0  # requests a second the app may make, and the emulation allows
TARGET, PAGE_TARGET_MS = 1.25, 50.0
WORKERS = 2
CLIENT_ID, CLIENT_SECRET, SELLER_ID = "9911", "bench-app-secret", 5_000_001
OTHERS = ("amazon", "mirakl")  # bench/propagation_<kind>.py, where their connectors bring one


def run(quick: bool) -> list[str]:
    count, rate = (QUICK_SKUS, QUICK_RATE) if quick else (FULL_SKUS, FULL_RATE)
    lines: list[str] = []
    with scratch_folder() as name:
        folder = Path(name)
        with bench_database("sqlite", folder) as settings:
            lines.append(propagate_mercadolivre(settings, folder, count, rate))
            for kind in OTHERS:
                try:
                    module = importlib.import_module(f"bench.propagation_{kind}")
                except ModuleNotFoundError:
                    continue
                lines += list(module.propagation("sqlite", settings, folder, quick=quick))
    return lines


def propagate_mercadolivre(settings: Settings, folder: Path, count: int, rate: float) -> str:
    db = Database(settings)
    box = SecretBox.from_environment(settings.secret_key_file)
    with SandboxServer() as sandbox:
        allow_sandbox(sandbox.url)
        emulation = sandbox.sandbox.emulations["mercadolivre"]
        account, token = _store(db, box, sandbox.url, rate, emulation)
        _listed(db, account, emulation, count)
        new_prices = _new_prices(count)
        burst = rate * 2
        emulation.state.config.rate, emulation.state.config.burst = rate, burst
        emulation.state.buckets.clear()
        floor = max(0.0, count - burst) / rate  # the marketplace's own figures, not Ponte's margins
        with ApiServer(settings, folder) as api:
            workers = _workers(settings, folder)
            try:
                wait_until(lambda: worker_running(db), 120, "the workers did not start")
                started = time.perf_counter()
                with db.write() as conn:
                    for part in range(0, count, 1000):
                        items = [
                            PriceInput(sku=_sku(n), list_price=Decimal("999.00"), price=new_prices[n])
                            for n in range(part, min(count, part + 1000))
                        ]
                        set_prices(conn, account_id=account, items=items, actor="bench")
                waiting = _Arrivals(emulation, new_prices)
                latencies = _list_latency_while(api.url, token, lambda: waiting.left() > 0, floor * 3 + 120)
                seconds = time.perf_counter() - started
            finally:
                for worker in workers:
                    stop_process(worker)
        arrived = count - waiting.left()
        throttled = emulation.state.throttled
    db.dispose()
    ratio = seconds / floor if floor else float("inf")
    note(
        f"mercadolivre: {arrived:,} of {count:,} prices in {seconds:.1f} s at {rate:.0f} requests/s (floor {floor:.1f} s);"
        f" {throttled} answers 429; Connections list p95 {latencies.p95:.1f} ms over {len(latencies.samples)} views"
    )
    ok = arrived == count and ratio <= TARGET and throttled <= 1 and latencies.p95 <= PAGE_TARGET_MS
    return bench_line(
        "propagation_mercadolivre", "sqlite", value=seconds, unit="s", baseline=floor, ratio=ratio,
        target=f"<={TARGET}x_floor;429s<=1;list_p95<={PAGE_TARGET_MS:.0f}ms", ok=ok,
    )  # fmt: skip


def _sku(n: int) -> str:
    return f"PRP-{n:06d}"


def _new_prices(count: int) -> list[Decimal]:
    rng = random.Random(5)
    return [Decimal(rng.randrange(5000, 90000)) / 100 for _ in range(count)]


def _store(db: Database, box: SecretBox, sandbox_url: str, rate: float, emulation: Any) -> tuple[int, str]:
    """An account selling on the emulated Mercado Livre, connected, with an API token for the list views."""
    from ponte.connectors.mercadolivre.emulation.state import App

    emulation.state.apps[CLIENT_ID] = App(CLIENT_ID, CLIENT_SECRET, [])
    emulation.state.sellers[SELLER_ID] = Seller(SELLER_ID, "BENCH_SELLER", ["normal"])
    tokens = emulation.state.issue(CLIENT_ID, SELLER_ID)
    base = f"{sandbox_url}/mercadolivre"
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-propagacao")
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="MLB", name="Mercado Livre", connector="mercadolivre",
            settings={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "api_url": f"{base}/api",
                      "auth_url": f"{base}/auth", "requests_per_second": rate},
        )  # fmt: skip
        token = create_token(conn, account_id=account, name="bench", role=Role.OPERATOR, actor="bench").token
    expires = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
    grant = Grant(tokens["access_token"], tokens["refresh_token"], expires, {"user_id": SELLER_ID})
    StoredCredentials(db, box, affiliate).store(grant, Identity(str(SELLER_ID), "BENCH_SELLER"))
    return account, token


def _listed(db: Database, account: int, emulation: Any, count: int) -> None:
    """N SKUs listed (as after a first sync): the store's rows, the listings Ponte keeps, the emulation's items."""
    when = now()
    with db.read() as conn:
        affiliate = int(conn.execute(select(affiliates.c.id).where(affiliates.c.account_id == account)).scalar_one())
    for start in range(0, count, 5000):
        numbers = range(start, min(count, start + 5000))
        with db.write() as conn:
            insert_many(conn, skus, [{
                "account_id": account, "sku": _sku(n), "name": f"Produto {n}", "brand": "Ponte", "category": "1574",
                "attributes": {}, "images": [], "active": True, "list_price": Decimal("999.00"),
                "price": Decimal("500.00"), "handling_days": 1, "created_at": when, "updated_at": when,
            } for n in numbers])  # fmt: skip
            insert_many(conn, listings, [{
                "affiliate_id": affiliate, "sku": _sku(n), "account_id": account, "listing_id": f"MLB{7_000_000_000 + n}",
                "data": {"status": "active"}, "updated_at": when,
            } for n in numbers])  # fmt: skip
            # The store holds the stock the items show (5): a store without it would be a drift that can oversell,
            # and the reconciler would rightly send 100,000 stock repairs through the same quota.
            query = select(skus.c.sku, skus.c.id).where(
                skus.c.account_id == account, skus.c.sku.in_(map(_sku, numbers))
            )
            ids = dict(conn.execute(query).all())
            insert_many(conn, stock, [
                {"account_id": account, "sku_id": ids[_sku(n)], "warehouse": "main", "quantity": 5, "updated_at": when}
                for n in numbers
            ])  # fmt: skip
    with emulation.state.lock:
        for n in range(count):
            item_id = f"MLB{7_000_000_000 + n}"
            body = {"title": f"Produto {n}", "category_id": "MLB1574", "price": 500.0, "available_quantity": 5}
            emulation.state.items[item_id] = Item(item_id, SELLER_ID, body)


def _workers(settings: Settings, folder: Path) -> list[subprocess.Popen[bytes]]:
    # Send threads sized to the rate and the round trip: at 200 requests a second and ~50 ms an answer from the
    # emulation on this 2-core machine (it shares the cores), 8 threads cap one worker at ~160 a second.
    env = {"PONTE_WORKER_BATCH": "100", "PONTE_WORKER_CONCURRENCY": "16"}
    return [
        worker_process(settings, folder, f"propagation-worker-{n}", **env)
        for n in range(WORKERS if not settings.is_sqlite else 1)
    ]


class _Arrivals:
    """The items whose new price the emulation does not hold yet. Each look walks only those still waiting: the
    sandbox serves the workers from this process, and walking all 100,000 items every 50 ms took its GIL."""

    def __init__(self, emulation: Any, prices: list[Decimal]) -> None:
        self.items = emulation.state.items
        self.waiting = {f"MLB{7_000_000_000 + n}": float(price) for n, price in enumerate(prices)}

    def left(self) -> int:
        items = self.items
        self.waiting = {key: price for key, price in self.waiting.items() if items[key].body.get("price") != price}
        return len(self.waiting)


def _list_latency_while(url: str, token: str, busy: Any, timeout: float) -> Latencies:
    """Views of the Connections price list (the API's list, the page's query) every 200 ms until `busy` is false."""
    import httpx

    latencies = Latencies()
    stop = threading.Event()

    def view() -> None:
        with httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            client.get("/integrations", params={"flow": "price", "limit": 50}).raise_for_status()  # warm: not counted
            while not stop.is_set():
                latencies.time(
                    lambda: client.get("/integrations", params={"flow": "price", "limit": 50}).raise_for_status()
                )
                stop.wait(0.2)

    viewer = threading.Thread(target=view, daemon=True)
    viewer.start()
    try:
        wait_until(lambda: not busy(), timeout, "the prices did not all reach the marketplace", every=1.0)
    finally:
        stop.set()
        viewer.join(timeout=30)
    return latencies
