"""Propagation to Amazon: how long many price changes take to reach Amazon, against the floor its feed limits set.

Every price of the store changes at once (a repricing). Too many for patchListingsItem at its 5 a second, so the
engine sends them as JSON_LISTINGS_FEEDs of up to 25,000 messages; createFeed's usage plan is 0.0083 a second
after a burst of 15, and Amazon processes a feed some time after it arrives (the emulation's `feed_seconds`, here
30 s). The floor is what those limits allow: `feed_seconds + max(0, feeds − 15) / 0.0083`. Target: every price
applied by Amazon within 1.25 × the floor (the rest is Ponte's work — claiming, building the feeds, uploading,
recording a pending attempt per SKU).

Real HTTP, the sandbox's emulation in this process (its listings read directly), a real `ponte worker` in its own
process, as deployed: the emulation stands in for Amazon's machines, and its work (receiving and judging 100,000
messages) shared the worker's interpreter lock when the worker ran as a thread here.

    from bench.propagation_amazon import propagation
    lines = propagation("sqlite", settings, folder, quick=True)        # the lead's `bench propagation`

or alone: `.venv/bin/python -m bench.propagation_amazon --quick --db sqlite`.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import (
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
from ponte.engine.credentials import StoredCredentials
from ponte.sandbox import SandboxServer
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import PriceInput, set_prices
from ponte.settings import Settings
from ponte.store.db import Database, insert_many
from ponte.store.tables import listings, skus

QUICK_SKUS, FULL_SKUS = 10_000, 100_000
FEED_SECONDS = 30.0
MESSAGES, BURST, RATE = 25_000, 15, 0.0083  # a feed's messages; createFeed's burst and rate
TARGET = 1.25
CLIENT_ID, CLIENT_SECRET, SELLER_ID = "amzn1.application-oa2-client.bench", "bench-secret", "A1BENCHSELLER"


def _sku(n: int) -> str:
    return f"PRA-{n:06d}"


def _store(db: Database, box: SecretBox, base: str, emulation: Any, count: int) -> int:
    """An account selling on the emulated Amazon, connected, with `count` SKUs listed there already."""
    from ponte.connectors.amazon.emulation.state import App, Listing, Seller, Token

    market = emulation.market
    market.apps[CLIENT_ID] = App(CLIENT_ID, CLIENT_SECRET, "amzn1.sp.solution.bench")
    market.sellers[SELLER_ID] = Seller(SELLER_ID, "Bench")
    market.refresh_tokens["Atzr|bench"] = (CLIENT_ID, SELLER_ID)
    market.tokens["Atza|bench"] = Token(CLIENT_ID, SELLER_ID, market.now() + 3600)
    market.feed_seconds = FEED_SECONDS
    with db.write() as conn:
        account = get_or_create_account(conn, slug=f"bench-amazon-{time.time_ns()}")
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="AMZ", name="Amazon", connector="amazon",
            settings={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "api_url": base,
                      "token_url": f"{base}/auth/o2/token", "consent_url": f"{base}/sellercentral"},
        )  # fmt: skip
    grant = Grant("Atza|bench", "Atzr|bench", datetime.now(UTC) + timedelta(hours=1), {"selling_partner_id": SELLER_ID})
    StoredCredentials(db, box, affiliate).store(grant, Identity(SELLER_ID, "Bench"))
    when = now()
    for start in range(0, count, 5000):
        numbers = range(start, min(count, start + 5000))
        with db.write() as conn:
            insert_many(conn, skus, [{
                "account_id": account, "sku": _sku(n), "name": f"Produto {n}", "brand": "Ponte", "category": "x",
                "attributes": {}, "images": [], "active": True, "list_price": Decimal("999.00"),
                "price": Decimal("500.00"), "handling_days": 1, "created_at": when, "updated_at": when,
            } for n in numbers])  # fmt: skip
            insert_many(conn, listings, [{
                "affiliate_id": affiliate, "sku": _sku(n), "account_id": account, "listing_id": _sku(n),
                "data": {"product_type": "PRODUCT"}, "updated_at": when,
            } for n in numbers])  # fmt: skip
    offer = [{"currency": "BRL", "our_price": [{"schedule": [{"value_with_tax": 500}]}]}]
    with market.lock:
        at = market.now()
        for n in range(count):
            market.listings[(SELLER_ID, _sku(n))] = Listing(
                SELLER_ID, _sku(n), "PRODUCT", {"purchasable_offer": [dict(offer[0])]}, None, at, at
            )
    return account


def _judged(emulation: Any, since: float) -> int:
    with emulation.market.lock:
        return sum(1 for f in emulation.market.feeds.values() if f.created >= since and f.status in ("DONE", "FATAL"))


def _arrived(emulation: Any, count: int, price: float, since: float) -> list[float]:
    found = []
    for n in range(count):
        listing = emulation.market.listings[(SELLER_ID, _sku(n))]
        value = listing.attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"]
        if value == price and listing.updated >= since:
            found.append(listing.updated)
    return found


def propagation(kind: str, settings: Settings, folder: Path, *, quick: bool = True) -> list[str]:
    """Run the measurement on a migrated database (its own account and affiliate); returns the BENCH line."""
    count = QUICK_SKUS if quick else FULL_SKUS
    feeds = math.ceil(count / MESSAGES)
    floor = FEED_SECONDS + max(0, feeds - BURST) / RATE
    db = Database(settings)
    box = SecretBox.from_environment(settings.secret_key_file)
    with SandboxServer() as sandbox:
        allow_sandbox(sandbox.url)
        emulation = sandbox.sandbox.emulations["amazon"]
        worker = None
        try:
            account = _store(db, box, f"{sandbox.url}/amazon", emulation, count)
            worker = worker_process(settings, folder, "propagation-amazon-worker")
            wait_until(lambda: worker_running(db), 120, "the worker did not start")
            with db.write() as conn:
                for part in range(0, count, 5000):
                    items = [
                        PriceInput(sku=_sku(n), list_price=Decimal("999.00"), price=Decimal("449.90"))
                        for n in range(part, min(count, part + 5000))
                    ]
                    set_prices(conn, account_id=account, items=items, actor="bench")
            started = emulation.market.now()  # committed: from here on it is Ponte's work, then Amazon's
            # Feeds are judged when someone looks (Ponte's getFeed), dated when their time came: wait on the cheap
            # count of judged feeds, then walk the listings (walking them every 50 ms took the GIL from the worker).
            wait_until(lambda: _judged(emulation, started) >= feeds, floor * 4 + 600, "the feeds were never judged")
            wait_until(lambda: len(_arrived(emulation, count, 449.9, started)) >= count, 600, "prices lost", every=0.5)
            slowest = max(_arrived(emulation, count, 449.9, started)) - started
            calls = emulation.market.calls
            made = sum(1 for c in calls if c["operation"] == "createFeed")
            patches = sum(1 for c in calls if c["operation"] == "patchListingsItem")
            left = max((c["at"] for c in calls if c["operation"] == "createFeed"), default=started) - started
            note(
                f"amazon: {count:,} prices in {made} feed(s) and {patches} patches; the last feed left {left:.1f} s and "
                f"the last price was applied {slowest:.1f} s after the repricing (floor {floor:.1f} s)"
            )
        finally:
            if worker is not None:
                stop_process(worker, grace=300)
            db.dispose()
    ratio = slowest / floor
    ok = ratio <= TARGET and made == feeds
    line = bench_line(
        "propagation_amazon", kind, value=slowest, unit="s", baseline=floor, ratio=ratio, target=f"<={TARGET}x", ok=ok
    )
    return [line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args(argv)
    lines: list[Any] = []
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        with scratch_folder() as folder, bench_database(kind, Path(folder)) as settings:
            lines += propagation(kind, settings, Path(folder), quick=args.quick)
    return 0 if all(line.endswith(" ok") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
