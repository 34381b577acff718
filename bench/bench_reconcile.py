"""Reconciliation: a full pass over 100,000 listings per marketplace, against the floor its read limits allow.

- Mercado Livre: the seller's item ids by the scan (100 a call), the items by the multiget (20 a call), every call
  from the application's shared bucket. Floor: (calls − the bucket's burst) ÷ the rate (10 requests a second, the
  connector's default `requests_per_second`; the emulation allows more, so that only Ponte's limiter holds the
  pace): 6,001 calls, ten minutes, for 100,000 listings.
- Mirakl: OF51 lists every offer in one call, allowed once a day. Floor: that one call, downloaded alone from the
  same emulation just before, the median of three (the rest is Ponte's reading and comparing of 100,000 offers).
Target: the pass within 1.25 × the floor. 1 % of the listings drift (stock higher on the marketplace): each pass
finds them and queues their repair, as a real pass would.

Real time, real HTTP: the sandbox runs in a child process, the pass in this one, on a fresh database.

    .venv/bin/python -m bench.bench_reconcile [--quick] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from bench.common import allow_sandbox, bench_database, bench_line, note, scratch_folder, stop_process
from bench.propagation_mirakl import _start_sandbox
from ponte.auth import get_or_create_account
from ponte.cli_common import tune_collector
from ponte.clock import now
from ponte.connectors.base import Grant, Identity
from ponte.engine.credentials import StoredCredentials
from ponte.engine.reconcile import Reconciler
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.settings import Settings
from ponte.store.affiliates import Affiliate, affiliates_by_id
from ponte.store.db import Database, insert_many
from ponte.store.tables import listings, skus, stock

TARGET = 1.25
QUICK, FULL = 2_000, 100_000
ML_RATE = 10.0  # requests a second: the connector's default share of Mercado Livre's per-app limit
CLIENT_ID, SECRET, SELLER = "bench-app", "bench-secret", 777_000_111
SHOP, KEY = 2001, "bench-reconcile-key"
DRIFT_EVERY = 100  # one listing in a hundred holds more stock than the store


def _catalog(db: Database, account: int, count: int, prefix: str) -> list[str]:
    """`count` SKUs at 100.00 with 10 in stock, written in bulk."""
    codes = [f"{prefix}-{n:06d}" for n in range(count)]
    at = now()
    with db.write() as conn:
        for start in range(0, count, 5_000):
            rows = [
                {"account_id": account, "sku": c, "name": f"Produto {c}", "attributes": {}, "images": [],
                 "price": 100, "list_price": 100, "created_at": at, "updated_at": at}
                for c in codes[start : start + 5_000]
            ]  # fmt: skip
            insert_many(conn, skus, rows)
        ids = dict(conn.execute(select(skus.c.sku, skus.c.id).where(skus.c.account_id == account)).all())
        for start in range(0, count, 5_000):
            rows = [
                {"account_id": account, "sku_id": ids[c], "warehouse": "main", "quantity": 10, "updated_at": at}
                for c in codes[start : start + 5_000]
            ]
            insert_many(conn, stock, rows)
    return codes


def _listings(db: Database, account: int, affiliate: int, pairs: list[tuple[str, str]]) -> None:
    at = now()
    with db.write() as conn:
        for start in range(0, len(pairs), 5_000):
            rows = [
                {"affiliate_id": affiliate, "sku": sku, "account_id": account, "listing_id": listing, "data": {},
                 "updated_at": at}
                for sku, listing in pairs[start : start + 5_000]
            ]  # fmt: skip
            insert_many(conn, listings, rows)


def _affiliate(db: Database, affiliate_id: int) -> Affiliate:
    with db.read() as conn:
        return affiliates_by_id(conn, [affiliate_id])[affiliate_id]


def _pass(db: Database, settings: Settings, box: SecretBox, affiliate: Affiliate) -> tuple[float, int, int]:
    """One full pass, timed: (seconds, listings read, drifts found)."""
    reconciler = Reconciler(db, settings, box, owner="bench-reconcile")
    started = time.perf_counter()
    reports = reconciler.run_pass(affiliate, mode="full", slices=100_000)
    seconds = time.perf_counter() - started
    reconciler.close()
    if not reports[-1].done:
        raise RuntimeError(f"the pass did not finish: {reports[-1]}")
    return seconds, sum(r.read for r in reports), sum(sum(r.found.values()) for r in reports)


def mercadolivre(kind: str, settings: Settings, db: Database, box: SecretBox, url: str, count: int) -> str:
    api = f"{url}/mercadolivre"
    with httpx.Client(base_url=f"{api}/_admin", timeout=600) as admin:
        admin.post("/config", json={"rate": ML_RATE * 4, "burst": ML_RATE * 8}).raise_for_status()
        admin.post("/apps", json={"client_id": CLIENT_ID, "client_secret": SECRET, "redirect_uris": []})
        admin.post("/sellers", json={"user_id": SELLER, "nickname": "BENCH"}).raise_for_status()
        grant = admin.post("/grants", json={"client_id": CLIENT_ID, "user_id": SELLER}).raise_for_status().json()
        with db.write() as conn:
            account = get_or_create_account(conn, slug=f"bench-meli-{time.time_ns()}")
            affiliate = create_affiliate(
                conn, box=box, account_id=account, code="MLB", name="Mercado Livre", connector="mercadolivre",
                settings={"client_id": CLIENT_ID, "client_secret": SECRET, "api_url": f"{api}/api",
                          "auth_url": f"{api}/auth", "requests_per_second": ML_RATE},
            )  # fmt: skip
        codes = _catalog(db, account, count, "ML")
        pairs: list[tuple[str, str]] = []
        for start in range(0, count, 10_000):
            bodies = [
                {"title": f"Produto {c}", "price": 100.0, "available_quantity": 15 if n % DRIFT_EVERY == 0 else 10,
                 "attributes": [{"id": "SELLER_SKU", "value_name": c}]}
                for n, c in enumerate(codes[start : start + 10_000], start)
            ]  # fmt: skip
            made = admin.post("/items", json={"seller_id": SELLER, "bodies": bodies}).raise_for_status().json()
            pairs += list(zip(codes[start : start + 10_000], made["ids"], strict=True))
    _listings(db, account, affiliate, pairs)
    expires = datetime.now(UTC) + timedelta(seconds=grant["expires_in"])
    StoredCredentials(db, box, affiliate).store(
        Grant(grant["access_token"], grant["refresh_token"], expires, {"user_id": SELLER}),
        Identity(str(SELLER), "BENCH"),
    )
    seconds, read, found = _pass(db, settings, box, _affiliate(db, affiliate))
    calls = math.ceil(count / 100) + 1 + math.ceil(count / 20)  # scan pages (and the empty last), multigets
    floor = max(calls - 2 * ML_RATE, 1) / ML_RATE  # the bucket's burst (2 × the rate) goes at once
    note(f"Mercado Livre: {read:,} listings read in {calls:,} calls, {found:,} drifts found, {seconds:.1f} s")
    if read != count or found != math.ceil(count / DRIFT_EVERY):
        raise RuntimeError(f"the pass read {read} of {count} listings and found {found} drifts")
    return _line("reconcile_mercadolivre", kind, seconds, floor)


def mirakl(kind: str, settings: Settings, db: Database, box: SecretBox, url: str, count: int) -> str:
    base = f"{url}/mirakl"
    with db.write() as conn:
        account = get_or_create_account(conn, slug=f"bench-mirakl-{time.time_ns()}")
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="CRF", name="Carrefour (Mirakl)", connector="mirakl",
            settings={"operator": "Carrefour", "base_url": base, "shop_id": SHOP, "api_key": KEY},
        )  # fmt: skip
    codes = _catalog(db, account, count, "MK")
    _listings(db, account, affiliate, [(c, c) for c in codes])
    with httpx.Client(base_url=base, timeout=600) as client:
        client.post("/_admin/shops", json={"shop_id": SHOP, "shop_name": "Bench", "api_key": KEY}).raise_for_status()
        for start in range(0, count, 20_000):
            offers = [
                {"shop_sku": c, "price": 100.0, "quantity": 15 if n % DRIFT_EVERY == 0 else 10}
                for n, c in enumerate(codes[start : start + 20_000], start)
            ]
            client.post(f"/_admin/shops/{SHOP}/offers", json={"offers": offers}).raise_for_status()
        # The floor: the one call the read limits allow, alone (a day passes after each, for the emulation's
        # limit); the median of three, as one download on this shared machine took anything from 0.95 to 1.6 s.
        params = {"include_fields": "offer-id,shop-sku,price,origin-price,discount-price,quantity,active,deleted,last-updated",
                  "include_inactive_offers": "true", "shop_id": SHOP}  # fmt: skip
        alone_times = []
        for _ in range(3):
            started = time.perf_counter()
            alone = client.get("/api/offers/export", params=params, headers={"Authorization": KEY}).raise_for_status()
            alone_times.append(time.perf_counter() - started)
            client.post("/_admin/clock", json={"advance": 86_400}).raise_for_status()
        floor = statistics.median(alone_times)
    seconds, read, found = _pass(db, settings, box, _affiliate(db, affiliate))
    note(
        f"Mirakl: {read:,} offers read in one OF51 call ({len(alone.content) / 1e6:.1f} MB), {found:,} drifts, {seconds:.1f} s"
    )
    if read != count or found != math.ceil(count / DRIFT_EVERY):
        raise RuntimeError(f"the pass read {read} of {count} offers and found {found} drifts")
    return _line("reconcile_mirakl", kind, seconds, floor)


def _line(name: str, kind: str, seconds: float, floor: float) -> str:
    ratio = seconds / floor
    return bench_line(name, kind, value=seconds, unit="s", baseline=floor, ratio=ratio, target=f"<={TARGET}x",
                      ok=ratio <= TARGET)  # fmt: skip


def reconcile(kind: str, settings: Settings, folder: Path, *, count: int) -> list[str]:
    process, url = _start_sandbox(folder)
    allow_sandbox(url)
    db = Database(settings)
    box = SecretBox.from_environment(settings.secret_key_file)
    try:
        return [
            mercadolivre(kind, settings, db, box, url, count),
            mirakl(kind, settings, db, box, url, count),
        ]
    finally:
        db.dispose()
        stop_process(process)


def run(quick: bool, kinds: tuple[str, ...] = ("sqlite",)) -> list[str]:
    tune_collector()  # the passes run here as in a `ponte worker` process, which collects garbage in bigger steps
    lines: list[str] = []
    for kind in kinds:
        with scratch_folder() as folder, bench_database(kind, Path(folder)) as settings:
            lines += reconcile(kind, settings, Path(folder), count=QUICK if quick else FULL)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    lines = run(args.quick, kinds)
    return 0 if all(line.endswith(" ok") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
