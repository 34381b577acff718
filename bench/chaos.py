"""Chaos runs: workers killed, the database restarted, marketplaces misbehaving, many workers at once, a soak.

    .venv/bin/python -m bench.chaos [--quick] [--scenario NAME] [--db sqlite|postgres|both] [--soak-minutes N]

Each scenario prints one line per database:
`CHAOS <scenario> <db> ops=<n> faults=<n> lost=<n> duplicated=<n> stuck=<n>` and the run fails (exit 1) when any
count but ops and faults is not zero. What the counts mean (see `Rig.check`):

- **lost**: an integration missing, an attempt row missing (`attempt_count` above the rows), a finished
  integration with no attempt, or a success whose marketplace listing (the sandbox's own view) does not hold
  the store's newest data — "the last change sent last".
- **duplicated**: a *recorded* attempt duplicated: two attempts of one integration whose run times overlap
  (two workers at once), or attempt rows the integration's `attempt_count` does not know of.
- **stuck**: pending with an expired lease, or pending and due long after the run drained.

The honest limit: a worker SIGKILLed after the marketplace answered but before its transaction committed
re-sends that change later (at-least-once delivery). That is harmless because every send carries the full
current state, and it is not counted: only recorded attempts can be duplicated.

Every server binds 127.0.0.1 on a free port and is stopped at the end; PostgreSQL runs use a schema of their
own. The `dbrestart` scenario stops and starts the real PostgreSQL cluster (and always starts it again), so it
lives here and never in the pytest suite.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.domain import Role
from ponte.sandbox import SandboxServer
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import PriceInput, SkuInput, StockInput, save_sku, set_price, set_stock
from ponte.services.shipping import add_shipping_rule
from ponte.services.tokens import create_token
from ponte.settings import Settings, load_settings
from ponte.store.db import Database
from ponte.store.migrate import migrate
from ponte.store.tables import attempt_bodies, attempts, integrations, skus, stock

PG_URL = os.environ.get("PONTE_CHAOS_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
PROFILE, SELLER, SECRET = "mercadolivre", "loja-caos", "caos-secret"
CATALOG_FLOWS = ("product", "price", "inventory")
FINAL = ("success", "warning", "error")
SCENARIOS = ("kill", "dbrestart", "faults", "concurrency", "soak")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Report:
    scenario: str
    db: str
    ops: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.stuck or self.problems)

    def line(self) -> str:
        return (
            f"CHAOS {self.scenario} {self.db} ops={self.ops} faults={self.faults} "
            f"lost={self.lost} duplicated={self.duplicated} stuck={self.stuck}"
        )


# -- databases ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[Settings]:
    """A migrated, empty database: a SQLite file in `folder`, or a PostgreSQL schema of this run's own."""
    os.environ["PONTE_SECRET_KEY_FILE"] = str(folder / "secret.key")
    if kind == "sqlite":
        settings = load_settings(folder)
        _migrate(settings)
        yield settings
        return
    schema = f"ponte_chaos_{os.getpid()}_{random.randrange(10**6)}"
    admin = Database(load_settings(folder, PG_URL))
    with admin.write() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    settings = load_settings(folder, f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        _migrate(settings)
        yield settings
    finally:
        with admin.write() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _migrate(settings: Settings) -> None:
    db = Database(settings)
    migrate(db)
    db.dispose()


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

    def change(self, rng: random.Random) -> str:
        """One catalog change on a random SKU: stock, price or name."""
        code = rng.choice(self.skus)
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
        """Wait until nothing is due twice in a row `settle` seconds apart (retries due later may remain)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.due() == 0:
                time.sleep(settle)
                if self.due() == 0:
                    return True
            time.sleep(0.3)
        return False

    # -- the check -----------------------------------------------------------------------------------
    def check(self, report: Report, *, expect_success: bool = True) -> Report:
        """Count what was lost, duplicated or stuck (see the module docstring) into `report`."""
        with self.db.read() as conn:
            rows = conn.execute(select(integrations)).all()
            tries = conn.execute(
                select(attempts.c.integration_id, attempts.c.started_at, attempts.c.duration_ms, attempts.c.status)
            ).all()
            store = _store_view(conn, self.account)
        by_row: dict[int, list[Any]] = defaultdict(list)
        for attempt in tries:
            by_row[attempt.integration_id].append(attempt)
        report.ops = len(tries)
        keys = {(r.flow, r.entity) for r in rows}
        report.lost += sum(1 for code in self.skus for flow in CATALOG_FLOWS if (flow, code) not in keys)
        listings = self.listings()
        moment = now()
        for row in rows:
            _check_row(report, row, by_row[row.id], moment, expect_success)
            sent = row.status in ("success", "warning") and row.flow in CATALOG_FLOWS
            if sent and not _listing_matches(row.flow, store.get(row.entity), listings.get(row.entity)):
                report.lost += 1
                report.problems.append(f"{row.flow} {row.entity}: the marketplace does not hold the newest data")
        del report.problems[20:]  # the first few say enough
        return report

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


def _store_view(conn: Any, account_id: int) -> dict[str, dict[str, Any]]:
    available = func.coalesce(func.sum(stock.c.quantity - stock.c.reserved), 0)
    quantities = dict(conn.execute(select(stock.c.sku_id, available).group_by(stock.c.sku_id)).all())
    view = {}
    for r in conn.execute(
        select(skus.c.id, skus.c.sku, skus.c.name, skus.c.price).where(skus.c.account_id == account_id)
    ):
        view[r.sku] = {"name": r.name, "price": float(r.price), "quantity": max(0, int(quantities.get(r.id, 0)))}
    return view


def _listing_matches(flow: str, store: dict[str, Any] | None, listing: dict[str, Any] | None) -> bool:
    if store is None or listing is None:
        return False
    if flow == "product":
        return bool(listing["name"] == store["name"])
    if flow == "price":
        return listing["price"] is not None and abs(float(listing["price"]) - store["price"]) < 0.005
    return bool(listing["quantity"] == store["quantity"])


def _check_row(report: Report, row: Any, tries: list[Any], moment: Any, expect_success: bool) -> None:
    if row.attempt_count > len(tries):
        report.lost += row.attempt_count - len(tries)
        report.problems.append(f"{row.flow} {row.entity}: {row.attempt_count} attempts counted, {len(tries)} rows")
    elif row.attempt_count < len(tries):
        report.duplicated += len(tries) - row.attempt_count
        report.problems.append(f"{row.flow} {row.entity}: {len(tries)} attempt rows, {row.attempt_count} counted")
    ordered = sorted(tries, key=lambda a: a.started_at)
    for before, after in itertools.pairwise(ordered):
        if after.started_at < before.started_at + timedelta(milliseconds=before.duration_ms):
            report.duplicated += 1
            report.problems.append(f"{row.flow} {row.entity}: two attempts ran at once")
    if row.status in FINAL and not tries:
        report.lost += 1
        report.problems.append(f"{row.flow} {row.entity}: {row.status} without any attempt")
    if row.status == "pending":
        expired = row.lease_until is not None and row.lease_until < moment
        overdue = row.due_at is not None and row.due_at < moment - timedelta(seconds=10)
        report.stuck += int(expired or overdue)
    elif row.status not in FINAL:
        report.problems.append(f"{row.flow} {row.entity}: unknown status {row.status}")
    if expect_success and row.status == "error":
        report.problems.append(f"{row.flow} {row.entity}: error {row.category}: {(row.message or '')[:120]}")


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


# -- scenarios ------------------------------------------------------------------------------------------


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


def run_kill(
    rig: Rig, db: str, *, skus: int, kills: int = 10, workers: int = 3, timeout: float = 300, seed: int = 7
) -> Report:
    """`kills` times, a worker is SIGKILLed mid-attempt (while it holds leases, the marketplace slow) and replaced;
    then the run drains and is checked."""
    rng = random.Random(seed)
    rig.load(skus)
    rig.sandbox.control("faults", slow_ms=150)
    alive = [rig.spawn_worker() for _ in range(workers)]
    done, deadline = 0, time.monotonic() + timeout
    while done < kills and rig.due() and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.2, 1.0))
        busy = owners_holding_leases(rig)
        victims = [n for n, p in enumerate(alive) if p.pid in busy]
        if victims:
            victim = rng.choice(victims)
            alive[victim].kill()
            alive[victim].wait()
            done += 1
            alive[victim] = rig.spawn_worker()
    report = Report("kill", db, faults=done)
    if not rig.wait_drained(timeout):
        report.problems.append("the run did not drain in time")
    rig.sandbox.control("faults", slow_ms=0)
    codes = terminate(alive)
    if any(codes):
        report.problems.append(f"workers stopped by SIGTERM exited with {codes}")
    return rig.check(report)


FAULTS: dict[str, dict[str, Any]] = {
    "5xx": {"faults": {"error_rate": 1.0, "status": 503}, "category": "marketplace_unavailable"},
    "429": {"config": {"rate": 20, "burst": 5}, "category": "rate_limited"},
    "timeout": {"faults": {"slow_ms": 1500}, "category": "marketplace_unavailable"},
    "drop": {"faults": {"drop_rate": 1.0}, "category": "marketplace_unavailable"},
    "malformed": {"faults": {"malformed_rate": 1.0}, "category": "marketplace_unavailable"},
    "huge": {"faults": {"huge_rate": 1.0}, "category": "marketplace_unavailable"},
    "token": {"faults": {"expire_tokens": True}, "category": None},
}


def fault_worker(rig: Rig) -> Any:
    import dataclasses

    from ponte.engine.worker import Worker

    settings = dataclasses.replace(
        rig.settings, retry_schedule=(0.0,) * 8, http_timeout=0.5, worker_batch=200, lease_seconds=30
    )
    return Worker(rig.db, settings, owner=f"chaos-{os.getpid()}", box=rig.box)


def drain_in_process(rig: Rig, worker: Any, timeout: float) -> bool:
    """Run the worker's step until nothing is due (sleeping through Retry-After pauses)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.run_once() and not rig.pending():
            return True
        time.sleep(0.05)
    return False


def run_fault(rig: Rig, db: str, kind: str, *, skus: int = 10, rounds: int = 2) -> Report:
    """One fault kind switched on for `rounds` worker steps, then off: every error is transient and of its
    category, responses are stored bounded, and everything ends a success once the marketplace behaves."""
    spec = FAULTS[kind]
    worker = fault_worker(rig)
    rig.load(skus)
    rig.sandbox.control("reset")
    rig.sandbox.register_seller(PROFILE, SELLER, SECRET)
    report, expired = Report(f"faults-{kind}", db), 0
    try:
        if kind == "token":
            worker.run_once()  # tokens issued; the next calls find them revoked mid-run
            rig.load(skus)
        if "config" in spec:
            rig.sandbox.control("config", **spec["config"])
        if "faults" in spec:
            expired = rig.sandbox.control("faults", **spec["faults"])["expired_tokens"]
        for _ in range(rounds):
            worker.run_once()
        report.faults = sandbox_faults(rig.sandbox) + _errors_of(rig, "timeout") + expired
        rig.sandbox.control("faults", error_rate=0, slow_ms=0, drop_rate=0, malformed_rate=0, huge_rate=0)
        if not drain_in_process(rig, worker, 60):
            report.problems.append("the run did not drain in time")
    finally:
        worker.close()
    _check_classified(rig, report, spec["category"])
    return rig.check(report)


def _errors_of(rig: Rig, message: str) -> int:
    with rig.db.read() as conn:
        return int(conn.execute(select(func.count()).where(attempts.c.message == message)).scalar_one())


def _check_classified(rig: Rig, report: Report, category: str | None) -> None:
    with rig.db.read() as conn:
        failed = conn.execute(select(attempts.c.category, attempts.c.disposition).where(attempts.c.status == "error"))
        kinds = {(r.category, r.disposition) for r in failed}
    expected = set() if category is None else {(category, "transient")}
    if kinds - expected:
        report.problems.append(f"errors classified as {sorted(kinds - expected)}, expected {sorted(expected)}")
    if category is not None and not kinds:
        report.problems.append("the fault was never seen by the worker")
    limit = rig.settings.body_limit + 100
    if (largest := largest_response(rig.db)) > limit:
        report.problems.append(f"a stored response has {largest} characters, over {limit}")


def run_concurrency(
    rig: Rig, db: str, *, skus: int, workers: int = 4, busy: float = 20, timeout: float = 900
) -> Report:
    """`workers` workers on one queue while catalog changes and reprocess clicks (double clicks) arrive."""
    rig.load(skus)
    procs = [rig.spawn_worker(worker_batch=100, lease_seconds=30, http_timeout=5) for _ in range(workers)]
    report = Report("concurrency", db)
    stop = threading.Event()
    changer = threading.Thread(target=_keep_changing, args=(rig, stop, report), daemon=True)
    changer.start()
    time.sleep(busy)
    stop.set()
    changer.join()
    if not rig.wait_drained(timeout):
        report.problems.append("the run did not drain in time")
    if any(terminate(procs)):
        report.problems.append("a worker did not stop cleanly on SIGTERM")
    return rig.check(report)


def _keep_changing(rig: Rig, stop: threading.Event, report: Report, rate: float = 40.0) -> None:
    """Catalog changes at `rate` a second, and every second a reprocess clicked twice over a slice of SKUs."""
    from ponte.engine.queue import reprocess_integrations
    from ponte.store.filters import IntegrationFilter

    rng = random.Random(11)
    last_click = time.monotonic()
    while not stop.is_set():
        rig.change(rng)
        report.faults += 1  # here: changes made while the workers ran
        if time.monotonic() - last_click >= 1.0:
            last_click = time.monotonic()
            prefix = rng.choice(rig.skus)[:-2]
            filt = IntegrationFilter(statuses=("success", "warning", "error"), entity_prefix=prefix)
            for _ in range(2):
                with rig.db.write() as conn:
                    reprocess_integrations(conn, account_id=rig.account, actor="chaos", filter=filt)
        stop.wait(1 / rate)


@contextlib.contextmanager
def postgres_stopped() -> Iterator[None]:
    """Stop the real PostgreSQL cluster; always start it again, even when the body fails."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    subprocess.run([*command, "stop", "-m", "fast"], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run([*command, "start"], check=True, capture_output=True)
        wait_for(_postgres_answers, 60, "PostgreSQL did not come back")


def _postgres_answers() -> bool:
    try:
        db = Database(load_settings("/tmp", PG_URL))
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
        db.dispose()
        return True
    except Exception:
        return False


def run_dbrestart(rig: Rig, db: str, *, skus: int, down: float = 6.0, timeout: float = 300) -> Report:
    """PostgreSQL stopped and started under two workers and the web server: they reconnect by themselves,
    nothing is lost, and meanwhile the API answers 503 "temporarily unavailable"."""
    rig.load(skus)
    rig.sandbox.control("faults", slow_ms=50)
    port = free_port()
    rig.spawn_web(port)
    token = rig.api_token()
    workers = [rig.spawn_worker() for _ in range(2)]
    wait_for(lambda: _attempt_count(rig) > 0, 60, "the workers did not start working")
    report = Report("dbrestart", db, faults=1)
    answers: list[tuple[int, str]] = []
    with postgres_stopped():
        until = time.monotonic() + down
        while time.monotonic() < until:
            answers.append(_screen(port, token))
            time.sleep(0.5)
    if not any(status == 503 and "temporarily unavailable" in body for status, body in answers):
        report.problems.append(f"no clear 503 while the database was down: {answers[:3]}")
    with contextlib.suppress(RuntimeError):
        wait_for(lambda: _screen(port, token)[0] == 200, 30, "")
    if _screen(port, token)[0] != 200:
        report.problems.append("the web server did not reconnect by itself")
    if not rig.wait_drained(timeout):
        report.problems.append("the run did not drain after the restart")
    rig.sandbox.control("faults", slow_ms=0)
    if any(terminate(workers)):
        report.problems.append("a worker did not survive the restart or stop cleanly")
    return rig.check(report)


def _attempt_count(rig: Rig) -> int:
    with rig.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(attempts)).scalar_one())


def _screen(port: int, token: str) -> tuple[int, str]:
    """One look at the Connections list through the API: (status, body)."""
    try:
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/integrations",
            params={"status": "error", "limit": 50},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        return answer.status_code, answer.text
    except httpx.HTTPError as exc:
        return 0, str(exc)


@dataclass
class Samples:
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, KiB over all processes)
    latency: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, ms)
    screen_errors: int = 0


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def run_soak(rig: Rig, db: str, *, minutes: float) -> Report:
    """Steady catalog changes, orders and screen use for `minutes`: memory and latency flat, no errors logged."""
    rig.load(300)
    port = free_port()
    rig.spawn_web(port)
    token = rig.api_token()
    workers = [rig.spawn_worker(lease_seconds=30, http_timeout=5) for _ in range(2)]
    report, samples, stop = Report("soak", db), Samples(), threading.Event()
    pids = [p.pid for p in rig.processes]
    loops = [(_soak_changes, 5.0), (_soak_orders, 0.5), (_soak_screens, 4.0)]
    threads = [threading.Thread(target=f, args=(rig, stop, report, samples, port, token, r)) for f, r in loops]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while (elapsed := time.monotonic() - started) < minutes * 60:
        samples.rss.append((elapsed, rss_kib(pids)))
        time.sleep(min(5.0, max(0.5, minutes * 60 / 40)))
    stop.set()
    for thread in threads:
        thread.join()
    if not rig.wait_drained(120):
        report.problems.append("the run did not drain")
    if any(terminate(workers)):
        report.problems.append("a worker did not stop cleanly on SIGTERM")
    report.problems += _soak_verdict(samples) + rig.log_errors()[:10]
    return rig.check(report)


def _soak_changes(rig: Rig, stop: threading.Event, report: Report, *_: Any) -> None:
    rng, rate = random.Random(3), _[-1]
    order_skus = set(rig.skus[:20])  # orders buy these: their price must stay what the marketplace shows
    while not stop.wait(1 / rate):
        code = rig.change(rng)
        report.faults += code in order_skus and 0  # changes are load here, not faults


def _soak_orders(rig: Rig, stop: threading.Event, report: Report, *_: Any) -> None:
    rng, rate = random.Random(5), _[-1]
    while not stop.wait(1 / rate):
        sku = rng.choice(rig.skus[:20])
        try:
            rig.sandbox.place_order(PROFILE, SELLER, [{"sku": sku, "quantity": 1, "price": 899.0}])
        except httpx.HTTPError as exc:
            report.problems.append(f"the buyer could not place an order: {exc}")


def _soak_screens(
    rig: Rig, stop: threading.Event, report: Report, samples: Samples, port: int, token: str, rate: float
) -> None:
    started = time.monotonic()
    while not stop.wait(1 / rate):
        t0 = time.perf_counter()
        status, _body = _screen(port, token)
        samples.latency.append((time.monotonic() - started, (time.perf_counter() - t0) * 1000))
        samples.screen_errors += status != 200


def _soak_verdict(samples: Samples) -> list[str]:
    """Memory flat (the last fifth within 25% + 20 MiB of the second fifth) and latency flat (median of the last
    fifth within twice the second fifth's + 25 ms)."""
    problems = []
    if samples.screen_errors:
        problems.append(f"{samples.screen_errors} screen requests failed")

    def fifth(values: list[tuple[float, float]], which: int) -> list[float]:
        if not values:
            return [0.0]
        end = values[-1][0]
        chosen = [v for t, v in values if which * end / 5 <= t <= (which + 1) * end / 5]
        return chosen or [values[-1][1]]

    rss = [(t, float(v)) for t, v in samples.rss]
    early, late = max(fifth(rss, 1)), max(fifth(rss, 4))
    if late > early * 1.25 + 20_480:
        problems.append(f"memory grew from {early / 1024:.0f} MiB to {late / 1024:.0f} MiB")
    first, last = _median(fifth(samples.latency, 1)), _median(fifth(samples.latency, 4))
    if last > first * 2 + 25:
        problems.append(f"screen latency grew from {first:.0f} ms to {last:.0f} ms (median)")
    print(
        f"SOAK rss_mib={early / 1024:.0f}->{late / 1024:.0f} p50_ms={first:.0f}->{last:.0f} screens={len(samples.latency)}"
    )
    return problems


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


# -- the command ---------------------------------------------------------------------------------------

SIZES = {  # quick / full
    "kill": (400, 1500),
    "dbrestart": (300, 1500),
    "concurrency": (1000, 33_334),  # three integrations a SKU: 100,002 in the full run
}


def scenario_runs(name: str, db: str, quick: bool, soak_minutes: float) -> list[Callable[[Rig], Report]]:
    size = SIZES.get(name, (0, 0))[0 if quick else 1]
    if name == "kill":
        return [lambda rig: run_kill(rig, db, skus=size)]
    if name == "faults":
        return [lambda rig, k=kind: run_fault(rig, db, k) for kind in FAULTS]  # type: ignore[misc]
    if name == "concurrency":
        return [lambda rig: run_concurrency(rig, db, skus=size, busy=15 if quick else 60)]
    if name == "dbrestart":
        return [lambda rig: run_dbrestart(rig, db, skus=size)]
    return [lambda rig: run_soak(rig, db, minutes=soak_minutes)]


def databases_for(name: str, choice: str) -> list[str]:
    kinds = ["sqlite", "postgres"] if choice == "both" else [choice]
    # Many workers at once and a database restart are the PostgreSQL path.
    return [k for k in kinds if k == "postgres"] if name in ("concurrency", "dbrestart") else kinds


def run_one(run: Callable[[Rig], Report], db: str) -> Report:
    with (
        tempfile.TemporaryDirectory(prefix="ponte-chaos-") as folder,
        database(db, Path(folder)) as settings,
        SandboxServer(seed=7, rate=100_000, burst=100_000) as sandbox,
    ):
        rig = Rig(settings, sandbox, Path(folder))
        try:
            return run(rig)
        finally:
            rig.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a half-minute soak")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="run only these (repeatable)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--soak-minutes", type=float, default=None, help="soak length [10; 0.5 with --quick]")
    args = parser.parse_args(argv)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # the sandbox writing to clients that hung up
    soak = args.soak_minutes if args.soak_minutes is not None else (0.5 if args.quick else 10.0)
    failed = 0
    for name in args.scenario or SCENARIOS:
        for db in databases_for(name, args.db):
            for run in scenario_runs(name, db, args.quick, soak):
                report = run_one(run, db)
                print(report.line(), flush=True)
                for problem in report.problems:
                    print(f"  {problem}", flush=True)
                failed += not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
