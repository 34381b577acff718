"""The rig: a store selling on one sandbox marketplace, its database, and workers and a web server as child
processes (`ponte worker`, uvicorn), each logging into the run's folder."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.chaos.check import Report, check_run
from bench.common import scratch_database
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.domain import Role
from ponte.sandbox import SandboxServer
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import PriceInput, SkuInput, StockInput, save_sku, set_price, set_stock
from ponte.services.shipping import add_shipping_rule
from ponte.services.tokens import create_token
from ponte.settings import Settings
from ponte.store.db import Database
from ponte.store.tables import attempt_bodies, integrations

PG_URL = os.environ.get("PONTE_CHAOS_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
PROFILE, SELLER, SECRET = "magalu", "loja-caos", "caos-secret"


# -- databases ----------------------------------------------------------------------------------------


def database(kind: str, folder: Path) -> contextlib.AbstractContextManager[Settings]:
    """A migrated, empty database: a SQLite file in `folder`, or a PostgreSQL schema of this run's own."""
    schema = f"ponte_chaos_{os.getpid()}_{random.randrange(10**6)}"
    return scratch_database(kind, folder, sqlite_dir=folder, pg_url=PG_URL, schema=schema)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ean13(number: int) -> str:
    """A valid, unique EAN-13 for the n-th SKU (marketplaces refuse one EAN on two SKUs)."""
    digits = f"789{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


# -- the rig ------------------------------------------------------------------------------------------


class Rig:
    """A store selling on one sandbox marketplace; workers as child processes; the consistency check."""

    def __init__(self, settings: Settings, sandbox: SandboxServer, folder: Path) -> None:
        self.settings, self.sandbox, self.folder = settings, sandbox, folder
        self.db = Database(settings)
        self.box = SecretBox.from_environment(settings.secret_key_file)
        self.skus: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        sandbox.register_seller(PROFILE, SELLER, SECRET)
        with self.db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-caos")
            self.affiliate = create_affiliate(
                conn, box=self.box, account_id=self.account, code="MLB", name="Mercado Livre", connector="sandbox",
                settings={"base_url": sandbox.url, "profile": PROFILE, "client_id": SELLER, "client_secret": SECRET},
                price_tolerance_pct=2,
            )  # fmt: skip
            add_shipping_rule(
                conn, account_id=self.account, sla="Normal", postal_from="01000000", postal_to="39999999",
                max_weight_g=30_000, days=5, price=Decimal("19.90"),
            )  # fmt: skip

    def load(self, count: int, batch: int = 500) -> list[str]:
        """Create `count` SKUs (each a product, price and stock integration), `batch` per transaction."""
        start = len(self.skus)
        codes = [f"CH-{n:06d}" for n in range(start, start + count)]
        for first in range(0, count, batch):
            with self.db.write() as conn:
                for n, code in enumerate(codes[first : first + batch], start=start + first):
                    save_sku(conn, account_id=self.account, item=SkuInput.model_validate(sku_data(code, n)))
        self.skus += codes
        return codes

    def change(self, rng: random.Random, among: list[str] | None = None) -> str:
        """One catalog change on a random SKU (of `among`, or of all): stock, price or name."""
        code = rng.choice(among or self.skus)
        with self.db.write() as conn:
            what = rng.random()
            if what < 0.6:
                set_stock(conn, account_id=self.account, item=StockInput(sku=code, quantity=rng.randrange(1, 500)))
            elif what < 0.9:
                cents = Decimal(rng.randrange(50_000, 99_900)) / 100
                set_price(
                    conn, account_id=self.account, item=PriceInput(sku=code, list_price=Decimal(999), price=cents)
                )
            else:
                n = self.skus.index(code)
                data = {**sku_data(code, n), "name": f"Smartphone Caos {code} v{rng.randrange(1000)}"}
                data.pop("stock")
                save_sku(conn, account_id=self.account, item=SkuInput.model_validate(data))
        return code

    def api_token(self) -> str:
        with self.db.write() as conn:
            return create_token(conn, account_id=self.account, name="chaos", role=Role.VIEWER, actor="chaos").token

    # -- child processes ------------------------------------------------------------------------------
    def env(self, **settings: Any) -> dict[str, str]:
        values = {
            "PONTE_DATA_DIR": str(self.folder),
            "PONTE_DATABASE_URL": self.settings.database_url,
            "PONTE_SECRET_KEY_FILE": str(self.settings.secret_key_file),
            "PONTE_LEASE_SECONDS": "5",
            "PONTE_HTTP_TIMEOUT": "1",
            "PONTE_RETRY_SCHEDULE": "0.2,0.5,1,1,2,2,3,3",
            "PONTE_WORKER_BATCH": "20",
            "PONTE_WORKER_CONCURRENCY": "4",
        }
        values.update({f"PONTE_{k.upper()}": str(v) for k, v in settings.items()})
        return {**os.environ, **values}

    def spawn(self, args: list[str], log_name: str, **settings: Any) -> subprocess.Popen[bytes]:
        log = open(self.folder / log_name, "ab")  # noqa: SIM115 - the child process owns it
        process = subprocess.Popen(
            [sys.executable, "-c", "from ponte.cli import main; main()", *args],
            env=self.env(**settings), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
        )  # fmt: skip
        log.close()
        self.processes.append(process)
        return process

    def spawn_worker(self, **settings: Any) -> subprocess.Popen[bytes]:
        return self.spawn(["worker"], f"worker-{len(self.processes)}.log", **settings)

    def spawn_web(self, port: int) -> subprocess.Popen[bytes]:
        code = (
            "import uvicorn; from ponte.app import create_app; from ponte.settings import load_settings; "
            f"uvicorn.run(create_app(load_settings()), host='127.0.0.1', port={port}, log_level='warning')"
        )
        log = open(self.folder / "web.log", "ab")  # noqa: SIM115 - the child process owns it
        process = subprocess.Popen([sys.executable, "-c", code], env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(process)
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 30, "the web server did not start")
        return process

    def stop_all(self, grace: float = 30.0) -> list[int]:
        """SIGTERM every child still running, wait `grace` seconds, SIGKILL the rest. Returns the exit codes."""
        return terminate(self.processes, grace)

    def close(self) -> None:
        self.stop_all(grace=10)
        self.db.dispose()

    def log_errors(self) -> list[str]:
        lines = []
        for path in sorted(self.folder.glob("*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if " ERROR " in line or "Traceback" in line:
                    lines.append(f"{path.name}: {line[:300]}")
        return lines

    # -- progress ------------------------------------------------------------------------------------
    def due(self) -> int:
        """Pending integrations that are due now or still leased: the work not finished yet."""
        i = integrations.c
        with self.db.read() as conn:
            leased = i.lease_until.is_not(None) & (i.lease_until > now())
            query = select(func.count()).where(i.status == "pending", (i.due_at <= now()) | leased)
            return int(conn.execute(query).scalar_one())

    def pending(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).where(integrations.c.status == "pending")).scalar_one())

    def wait_drained(self, timeout: float, settle: float = 1.0) -> bool:
        """Wait until nothing is pending twice in a row `settle` seconds apart: every integration ended.

        Not "nothing due": a price or stock send held back for its product, or a retry, is pending and due a few
        seconds later, and a check made then counted it neither as an attempt nor as stuck. The rig's retry
        schedule is short, so everything ends within the timeout or the run reports that it did not drain."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0:
                time.sleep(settle)
                if self.pending() == 0:
                    return True
            time.sleep(0.3)
        return False

    # -- the check -----------------------------------------------------------------------------------
    def check(self, report: Report, *, expect_success: bool = True) -> Report:
        """Count what was lost, duplicated or stuck (see `check.check_run`) into `report`."""
        return check_run(self.db, self.account, self.skus, self.listings, report, expect_success=expect_success)

    def listings(self) -> dict[str, dict[str, Any]]:
        """The marketplace's own view of every listing: /_admin/items/{sku} (in-process for big runs)."""
        if len(self.skus) > 3000:
            market = self.sandbox.sandbox.state.markets[PROFILE]
            with self.sandbox.sandbox.state.lock:
                return {
                    sku: {"name": item.data.get("name"), "price": item.price, "quantity": item.quantity}
                    for (seller, sku), item in market.items.items()
                    if seller == SELLER
                }
        found = {}
        with httpx.Client(base_url=self.sandbox.url, timeout=10) as client:
            for sku in self.skus:
                answer = client.get(f"/{PROFILE}/_admin/items/{sku}", params={"seller": SELLER})
                if answer.status_code == 200:
                    body = answer.json()
                    found[sku] = {
                        "name": body["data"].get("name"),
                        "price": body["price"],
                        "quantity": body["quantity"],
                    }
        return found


def sku_data(code: str, n: int) -> dict[str, Any]:
    return {
        "sku": code, "name": f"Smartphone Caos {code}",
        "description": "Tela de 6,1 polegadas, 128 GB.", "brand": "Acme", "category": "1055", "ean": ean13(n),
        "attributes": {"MODEL": "X1", "Cor": "Preto"}, "images": ["https://cdn.example.com/x1.jpg"],
        "weight_g": 180, "height_cm": "15", "width_cm": "7.5", "length_cm": "1",
        "list_price": "999.00", "price": "899.00", "stock": {"main": 100},
    }  # fmt: skip


def wait_for(condition: Callable[[], bool], timeout: float, failure: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise RuntimeError(failure)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def largest_response(db: Database) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(func.coalesce(func.max(func.length(attempt_bodies.c.response)), 0))).scalar_one()
        )


def sandbox_faults(sandbox: SandboxServer) -> int:
    """Answers the sandbox gave that were faults: 5xx, 429, dropped, malformed, huge."""
    total = 0
    for endpoints in sandbox.stats()["by_profile"].values():
        for by_status in endpoints.values():
            for status, count in by_status.items():
                if status.startswith(("5", "429")) or " " in status:
                    total += count
    return total


def terminate(processes: list[subprocess.Popen[bytes]], grace: float = 30) -> list[int]:
    """SIGTERM the processes together, then wait for each (SIGKILL after `grace`); their exit codes."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=grace))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    return codes


def owners_holding_leases(rig: Rig) -> set[int]:
    """Pids of workers that hold a live lease now (the worker's owner name is host:pid:suffix)."""
    i = integrations.c
    with rig.db.read() as conn:
        owners = conn.execute(select(i.lease_owner).where(i.lease_until > now()).distinct()).scalars().all()
    return {int(o.split(":")[1]) for o in owners if o and o.count(":") >= 2 and o.split(":")[1].isdigit()}
