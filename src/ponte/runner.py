"""`ponte run`: the whole hub in one process — database, sandbox marketplace, demo store, worker and web server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import uvicorn

from ponte.alerts import alerts_job
from ponte.app import create_app
from ponte.cli_common import seal_plain_secrets_of
from ponte.connectors import outbound
from ponte.demo import (
    PASSWORD,
    USERS,
    cancel_demo_orders,
    connect_demo_sellers,
    demo_account_id,
    is_loaded,
    load_demo,
    place_demo_orders,
    point_at_sandbox,
    read_marketplace_structures,
    register_sellers,
)
from ponte.engine.worker import Worker
from ponte.sandbox.server import SandboxServer
from ponte.secrets import SecretBox
from ponte.services.erp_catalog import catalog_job, keep_notified
from ponte.settings import Settings
from ponte.store.db import Database
from ponte.store.migrate import migrate
from ponte.store.queries import count_pending

log = logging.getLogger("ponte.run")


@dataclass
class RunOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = True
    sandbox: bool = True
    worker: bool = True


def pending_count(db: Database) -> int:
    with db.read() as conn:
        return count_pending(conn)


def drain(worker: Worker, db: Database, progress: Callable[[int, int], None] | None = None, *, rounds: int = 3) -> None:
    """Run the worker until nothing is due now (retries scheduled for later are left for later)."""
    total = pending_count(db)
    done = 0
    for _ in range(rounds):
        worker.poll_orders(force=True)
        worker.process_notifications()
        worker.poll_submissions(force=True)
        while handled := worker.run_once():
            done += handled
            if progress:
                progress(min(done, total), max(total, done))


def allowing(settings: Settings, url: str) -> Settings:
    """The settings with the outbound policy also allowing `url`'s address and port: the sandbox (and its ERP)
    that the operator started or named, on loopback, and nothing else of loopback."""
    extra = tuple(e for e in outbound.endpoints_of(url) if e not in settings.outbound_allow)
    allowed = replace(settings, outbound_allow=(*settings.outbound_allow, *extra))
    outbound.allow(allowed.outbound_allow)
    return allowed


def prepare_demo(
    db: Database,
    settings: Settings,
    sandbox_url: str,
    progress: Callable[[int, int], None] | None,
    ponte_url: str = "http://127.0.0.1:8000",
) -> bool:
    """Load the demo store on first start and play its first hours; on later starts point it at the new sandbox.
    Returns True when the demo was loaded now."""
    settings = allowing(settings, sandbox_url)
    first = load_demo_store(db, settings, sandbox_url, ponte_url)
    if first:
        play_demo(db, settings, sandbox_url, progress)
    return first


def load_demo_store(db: Database, settings: Settings, sandbox_url: str, ponte_url: str) -> bool:
    """The demo store's rows (users, affiliates, catalog) on first start, in one short transaction; on later starts
    its affiliates pointed at the new sandbox. True when it was loaded now (play_demo then plays its first hours)."""
    box = SecretBox.from_environment(settings.secret_key_file)
    register_sellers(sandbox_url, ponte_url)
    with db.write() as conn:
        first = not is_loaded(conn)
        if first:
            load_demo(conn, box=box, sandbox_url=sandbox_url)
        else:
            point_at_sandbox(conn, box=box, sandbox_url=sandbox_url)
    return first


def play_demo(db: Database, settings: Settings, sandbox_url: str, progress: Callable[[int, int], None] | None) -> None:
    """The demo's first hours: sellers connected, the catalog sent to every marketplace at its real pace, orders
    placed, imported, handed to Bling, invoiced and shipped (minutes on a small machine)."""
    box = SecretBox.from_environment(settings.secret_key_file)
    connect_demo_sellers(db, box=box, settings=settings, sandbox_url=sandbox_url)
    for problem in read_marketplace_structures(db, box=box, settings=settings):
        log.warning("demo: a marketplace's category tree was not read: %s", problem)
    worker = Worker(db, settings, owner="demo-loader", box=box)
    drain(worker, db, progress)
    place_demo_orders(db, sandbox_url)
    drain(worker, db, progress)
    with db.write() as conn:
        account_id = demo_account_id(conn)
        cancel_demo_orders(conn, account_id=account_id, sandbox_url=sandbox_url)
    worker.poll_invoices(force=True)  # the NF-e Bling issued for the orders it received
    drain(worker, db, progress)
    import_demo_catalog(db, worker)
    worker.close()


def import_demo_catalog(db: Database, worker: Worker) -> None:
    """The demo store's catalog from its Bling: a first import (the products match, so nothing is sent again), after
    which a price changed in the emulated Bling reaches the marketplaces (the worker reads what changes)."""
    from ponte.connectors.bling import demo as bling_demo
    from ponte.services import erp_catalog
    from ponte.store.affiliates import account_affiliates

    with db.write() as conn:
        account_id = demo_account_id(conn)
        erp = next((a for a in account_affiliates(conn, account_id=account_id) if a.code == bling_demo.CODE), None)
        if erp is None or erp.connector != "bling":
            return
        erp_catalog.start_import(conn, account_id=account_id, affiliate_id=erp.id, actor="demo")
    try:
        erp_catalog.run_import(db, erp, worker.connector)
    except Exception:  # the demo goes on without it: the Bling page shows why
        log.warning("demo: the catalog was not imported from Bling", exc_info=True)


def demo_login_lines() -> list[str]:
    return [f"  {email}  /  {PASSWORD}   ({role.value})" for email, role in USERS]


def serve(
    settings: Settings,
    options: RunOptions,
    *,
    say: Callable[[str], None],
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Migrate, start the sandbox and the worker, load the demo, and serve the web app until interrupted."""
    db = Database(settings)
    migrate(db)
    seal_plain_secrets_of(db, settings)
    sandbox = None
    if options.sandbox:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        sandbox = SandboxServer(host="127.0.0.1", state_file=settings.data_dir / "sandbox-state.pickle").start()
    if sandbox:
        settings = allowing(settings, sandbox.url)
        say(
            f"Sandbox marketplaces at {sandbox.url} (Mercado Livre at /mercadolivre, Mirakl at /mirakl,"
            " Amazon at /amazon, Bling at /bling; test profile magalu)"
        )
    ponte_url = f"http://{options.host}:{options.port}"
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start_worker() -> None:
        worker = Worker(
            db, settings, periodic=[alerts_job(db, settings), catalog_job(db, settings)], keep_catalog=keep_notified
        )
        thread = threading.Thread(target=worker.run, args=(stop,), name="ponte-worker", daemon=True)
        threads.append(thread)
        thread.start()

    first = bool(options.demo and sandbox and load_demo_store(db, settings, sandbox.url, ponte_url))
    if first and sandbox:
        # The first hours of the demo take minutes at the marketplaces' real paces: served meanwhile, its pages
        # fill in as they are played; the worker starts when they are done.
        def play() -> None:
            try:
                play_demo(db, settings, sandbox.url, progress)
                say("Demo store loaded: catalog sent to the marketplaces, orders imported, tracking sent.")
            except Exception:
                log.exception("the demo's first hours could not be played")
            finally:
                if options.worker and not stop.is_set():
                    start_worker()

        threading.Thread(target=play, name="ponte-demo", daemon=True).start()
        say("Loading the demo store: its pages fill in while the catalog goes to the marketplaces.")
    elif options.worker:
        start_worker()
    say(f"Ponte is running at http://{options.host}:{options.port}/")
    if options.demo and sandbox:
        say("Demo login (password for all):\n" + "\n".join(demo_login_lines()))
    try:
        uvicorn.run(create_app(settings, db=db), host=options.host, port=options.port, log_level="warning")
    finally:
        stop.set()
        for thread in list(threads):
            thread.join(timeout=30)
        if sandbox:
            sandbox.stop()
        db.dispose()
