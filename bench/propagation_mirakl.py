"""Propagation to Mirakl: how long a price or stock change takes to reach the operator, against the floor Mirakl's
call frequency sets.

OF24 and OF01 may be called once a minute each (the spec's "Maximum usage"): a change made just after an offer
batch left cannot leave before the next minute. That minute is the floor; target: every change applied by the
operator within 1.25 × it (the rest is Ponte's work — claiming, building thousands of offers, the call, recording —
and the operator's, here an emulation that judges imports at once).

Real time, real HTTP, a real worker: the sandbox runs in a child process, Ponte's worker in this one. Wave A (a
price change of every SKU) leaves at once; wave B (a stock change of every SKU), made right after A's call, waits
for the next minute. The figure is wave B's slowest change (the one that meets the floor), from its commit to the
operator applying it (the emulation's own record of when each offer changed).

    from bench.propagation_mirakl import propagation
    lines = propagation("sqlite", settings, folder, quick=True)        # the lead's `bench propagation`

or alone: `.venv/bin/python -m bench.propagation_mirakl --quick --db sqlite`.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from bench.common import (
    allow_sandbox,
    bench_database,
    bench_line,
    free_port,
    note,
    scratch_folder,
    stop_process,
    wait_until,
)
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import PriceInput, SkuInput, StockInput, save_skus, set_prices, set_stocks
from ponte.settings import Settings
from ponte.store.catalog import save_listings
from ponte.store.db import Database
from ponte.store.tables import integrations

FLOOR = 60.0  # seconds: OF24's and OF01's "Maximum usage: Once per minute"
TARGET = 1.25
QUICK_SKUS, FULL_SKUS = 1_000, 5_000  # each SKU changes twice (price, then stock)
SHOP, KEY = 2001, "bench-mirakl-key"


def _start_sandbox(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = f"from ponte.sandbox.server import serve; serve(port={port})"
    log = open(folder / "sandbox-mirakl.log", "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log)
    log.close()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(f"{url}/_control/health"), 30, "the sandbox did not start")
    return process, url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _store(db: Database, box: SecretBox, mirakl: str, codes: list[str]) -> int:
    """A store whose SKUs are listed on the emulated Carrefour already (products integrated, listings known)."""
    with httpx.Client(base_url=mirakl, timeout=60) as client:
        client.post("/_admin/shops", json={"shop_id": SHOP, "shop_name": "Bench", "api_key": KEY}).raise_for_status()
        client.post(f"/_admin/shops/{SHOP}/products", json={"skus": codes}).raise_for_status()
        client.post("/_admin/config", json={"import_seconds": 0}).raise_for_status()  # judged at once
    with db.write() as conn:
        account = get_or_create_account(conn, slug=f"bench-mirakl-{time.time_ns()}")
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="CRF", name="Carrefour (Mirakl)", connector="mirakl",
            settings={"operator": "Carrefour", "base_url": mirakl, "shop_id": SHOP, "api_key": KEY},
        )  # fmt: skip
        items = [
            SkuInput.model_validate({"sku": c, "name": f"Produto {c}", "price": "100.00", "stock": {"main": 10}})
            for c in codes
        ]
        save_skus(conn, account_id=account, items=items)
        listed = {c: (c, {"product_id": c, "product_id_type": "SHOP_SKU"}) for c in codes}
        save_listings(conn, account_id=account, affiliate_id=affiliate, found=listed, now=now())
        mine = (integrations.c.account_id == account, integrations.c.affiliate_id == affiliate)
        conn.execute(update(integrations).where(*mine).values(status="success", due_at=None))
        product = (*mine, integrations.c.flow == "product")
        conn.execute(update(integrations).where(*product).values(external_ref=integrations.c.entity))
    return account


def _applied(mirakl: str, since: float) -> dict[str, float]:
    offers = httpx.get(f"{mirakl}/_admin/shops/{SHOP}/offers", timeout=60).raise_for_status().json()["offers"]
    return {sku: o["applied_at"] for sku, o in offers.items() if o.get("applied_at") and o["applied_at"] >= since}


def _offer_calls(mirakl: str) -> int:
    calls = httpx.get(f"{mirakl}/_admin/calls", timeout=10).raise_for_status().json()["calls"]
    return sum(1 for c in calls if c["operation"] in ("OF24", "OF01"))


def _wave(db: Database, account: int, codes: list[str], kind: str, wave: int) -> float:
    """Commit one change of every SKU; returns when it was committed (wall clock, as the emulation's)."""
    with db.write() as conn:
        if kind == "price":
            items = [PriceInput(sku=c, list_price=Decimal("100.00"), price=Decimal(90 - wave)) for c in codes]
            set_prices(conn, account_id=account, items=items)
        else:
            set_stocks(conn, account_id=account, items=[StockInput(sku=c, quantity=20 + wave) for c in codes])
    return time.time()


def propagation(
    kind: str, settings: Settings, folder: Path, *, quick: bool = True, count: int | None = None
) -> list[str]:
    """Run the measurement on a migrated database (its own account and affiliate); returns the BENCH line.
    `count` SKUs (default: by `quick`); tests/test_bench_smoke.py runs a few, still a real minute for wave B."""
    count = count or (QUICK_SKUS if quick else FULL_SKUS)
    codes = [f"PROP-{n:05d}" for n in range(count)]
    process, url = _start_sandbox(folder)
    allow_sandbox(url)
    db = Database(settings)
    box = SecretBox.from_environment(settings.secret_key_file)
    stop = threading.Event()
    worker = Worker(db, dataclasses.replace(settings, retry_schedule=(1.0,)), owner="bench-propagation", box=box)
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"idle_sleep": 0.1, "order_poll_every": 1.0})
    try:
        mirakl = f"{url}/mirakl"
        account = _store(db, box, mirakl, codes)
        thread.start()
        _wave(db, account, codes, "price", 1)
        wait_until(lambda: _offer_calls(mirakl) >= 1, 10 * FLOOR, "wave A never left")
        b = _wave(db, account, codes, "stock", 2)  # right after A's call: it waits for the next minute
        wait_until(lambda: len(_applied(mirakl, b)) >= count, 10 * FLOOR, "wave B was never applied")
        slowest = max(_applied(mirakl, b).values()) - b
        calls = _offer_calls(mirakl)
        note(
            f"{2 * count:,} changes ({count:,} SKUs × price, stock) in {calls} offer calls; wave B's slowest {slowest:.1f} s"
        )
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=120)
        db.dispose()
        stop_process(process)
    ratio = slowest / FLOOR
    ok = ratio <= TARGET and calls == 2
    line = bench_line(
        "propagation_mirakl", kind, value=slowest, unit="s", baseline=FLOOR, ratio=ratio, target=f"<={TARGET}x", ok=ok
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
