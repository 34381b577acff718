"""A first import of a Bling catalog under Bling's 3 requests a second (bling.md § 2): 20 000 products (1 500 with
--quick) with their stock balances, from the emulated Bling over real HTTP, into a SQLite store.

Bling's product list pages by 100 (`limite`: its default; its maximum is not documented, and the emulation answers
no more) and gives no total, so the import reads each page (`GET /produtos`) and the balances of its products in
one call (`GET /estoques/saldos?idsProdutos[]=…`), after a dozen calls that find the last page (the progress bar's
total). The floor is those calls at 3 a second; target: the import within 1.25 × the floor, no 429 from the
emulation (`throttled`), every product taken and the rejected ones (1 in 100 without a price) reported.

Each product's full record (GTIN, weight, dimensions, images: one more call per product) is read only with the
affiliate's `catalog_details`, which this bench leaves off: with it, 20 000 products take 20 000 more calls, nearly
two hours at Bling's rate, whatever Ponte does.

    .venv/bin/python -m bench --only bling_import [--quick]
"""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.common import allow_sandbox, bench_database, bench_line, note, scratch_folder
from ponte.auth import get_or_create_account
from ponte.connectors.base import Connector, Grant, Identity
from ponte.connectors.bling.catalog import PAGE
from ponte.engine.connectors import connector_for
from ponte.engine.credentials import StoredCredentials
from ponte.sandbox import SandboxServer
from ponte.secrets import SecretBox
from ponte.services import erp_catalog
from ponte.services.affiliates import create_affiliate
from ponte.store.affiliates import Affiliate, affiliates_by_id
from ponte.store.db import Database

QUICK_PRODUCTS, FULL_PRODUCTS = 1_500, 20_000
RATE = 3.0  # Bling's requests a second per account
TARGET = 1.25
APP, SECRET, COMPANY, DEPOSIT = "bench-bling-app", "bench-bling-secret", "b3nchb1ing0c0mpany000000000000aa", 1


def _seed(url: str, count: int) -> int:
    """The emulated Bling's company with `count` products (1 in 100 without a price) and their balances."""
    admin = f"{url}/bling/_admin"
    httpx.post(f"{admin}/apps", json={"client_id": APP, "client_secret": SECRET, "redirect_uri": "http://x/cb"})
    httpx.post(f"{admin}/companies", json={"id": COMPANY, "nome": "Bench LTDA", "deposits": [DEPOSIT]})
    products = [
        {"codigo": f"BB-{i:06d}", "nome": f"Produto {i}", "preco": 0 if i % 100 == 99 else 10 + i % 500,
         "saldos": {str(DEPOSIT): i % 13}}
        for i in range(count)
    ]  # fmt: skip
    httpx.post(f"{admin}/products", json={"company": COMPANY, "products": products}, timeout=600).raise_for_status()
    httpx.post(f"{admin}/config", json={"rate": RATE}).raise_for_status()
    return sum(1 for p in products if not p["preco"])


def _store(db: Database, box: SecretBox, url: str) -> Affiliate:
    base = f"{url}/bling/Api/v3"
    with db.write() as conn:
        account = get_or_create_account(conn, slug="bench-bling")
        erp_id = create_affiliate(
            conn, box=box, account_id=account, code="BLING", name="Bling", kind="erp", connector="bling",
            settings={"client_id": APP, "client_secret": SECRET, "api_url": base, "auth_url": base,
                      "payment_method_id": 1, "catalog_details": False},
        )  # fmt: skip
        erp_catalog.start_import(conn, account_id=account, affiliate_id=erp_id, actor="bench")
        erp = affiliates_by_id(conn, [erp_id])[erp_id]
    answer = httpx.post(f"{url}/bling/_admin/grants", json={"client_id": APP, "company": COMPANY}).json()
    expires = datetime.now(UTC) + timedelta(seconds=answer["expires_in"])
    grant = Grant(answer["access_token"], answer["refresh_token"], expires, {})
    StoredCredentials(db, box, erp_id).store(grant, Identity(COMPANY, "Bench LTDA"))
    return erp


def bling_import(kind: str, folder: Path, count: int) -> list[str]:
    with bench_database(kind, folder) as settings:
        settings = dataclasses.replace(settings, http_timeout=30.0)
        db = Database(settings)
        box = SecretBox.from_environment(settings.secret_key_file)
        made: list[Connector] = []

        def connector_of(affiliate: Affiliate) -> Connector:
            made.append(connector_for(affiliate, db=db, box=box, settings=settings))
            return made[-1]

        try:
            with SandboxServer() as sandbox:
                allow_sandbox(sandbox.url)
                unpriced = _seed(sandbox.url, count)
                erp = _store(db, box, sandbox.url)
                ticks = []
                started = time.perf_counter()
                done = erp_catalog.run_import(db, erp, connector_of, progress=ticks.append)
                seconds = time.perf_counter() - started
                throttled = httpx.get(f"{sandbox.url}/bling/_admin/stats").json()["throttled"]
        finally:
            for connector in made:
                connector.close()
            db.dispose()
    pages = math.ceil(count / PAGE)
    # The list's pages and a balance call per page, and the dozen calls that find the last page.
    calls = 2 * pages + 2 * math.ceil(math.log2(max(2, pages))) + 1
    floor = calls / RATE
    complete = done.taken_count == count - unpriced and len(done.rejected) == unpriced
    told = bool(ticks) and ticks[0].total == count
    note(
        f"{count:,} products in {seconds:.1f} s ({done.taken_count:,} taken, {len(done.rejected)} rejected), "
        f"{len(ticks)} progress updates, {throttled} answers 429; floor {floor:.0f} s ({calls} calls at {RATE:g}/s)"
    )
    ok = seconds <= TARGET * floor and throttled == 0 and complete and told
    name = "bling_import_quick" if count < FULL_PRODUCTS else "bling_import"
    return [bench_line(name, kind, value=seconds, unit="s", baseline=floor, target=f"<={TARGET}x", ok=ok)]


def run(quick: bool) -> list[str]:
    """The 20 000-product import (1 500 with --quick), on SQLite: one run, its time is Bling's rate's."""
    with scratch_folder() as folder:
        return bling_import("sqlite", Path(folder), QUICK_PRODUCTS if quick else FULL_PRODUCTS)


if __name__ == "__main__":
    import sys

    for line in run("--quick" in sys.argv):
        print(line)
