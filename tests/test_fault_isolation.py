"""One store's broken settings never stop another store's work.

Store C is broken in every way a store admin can break it: a marketplace affiliate whose webhook secret was
rotated, another whose stored settings no longer validate, an ERP pointed inside the network, a "marketplace"
that answers with a NUL byte and an over-long code, an alert channel with a line break in its address, one
pointed inside the network, one whose secrets cannot be opened, and a rule that backtracks catastrophically.
Stores A and B, created after C (so their work comes after C's in every loop), still get their orders imported,
their catalogs sent and their alerts delivered; C's failures are recorded on C's own items.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from factories import add_integration
from ponte.alerts import evaluate_alerts
from ponte.alerts.channels import create_channel
from ponte.auth import create_user, get_or_create_account
from ponte.clock import now
from ponte.domain import Role
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_sku
from ponte.services.rules import add_rule
from ponte.services.webhooks import SECRET_KEY as WEBHOOK_SECRET
from ponte.store.tables import (
    affiliates,
    alert_channels,
    alert_messages,
    attempts,
    integrations,
    orders,
    web_sessions,
)
from sandbox_fixtures import allow_outbound, product


class Garbled(ThreadingHTTPServer):
    """A "marketplace" a store pointed its connector at: grants a token, then refuses every item with a NUL
    byte in its message and a 500-character code (or, for one SKU, a message made to backtrack)."""

    daemon_threads = True


class GarbledHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self._answer(200, {"access_token": "t0k3n", "expires_in": 3600})

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "EXPLODE" in self.path:
            self._answer(422, {"message": "a" * 40 + "!"})
        else:
            self._answer(422, {"message": "Erro\x00 grave no item", "code": "X" * 500})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Hook(ThreadingHTTPServer):
    daemon_threads = True
    received: list[dict[str, Any]]


class HookHandler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        self.server.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def garbled() -> Iterator[str]:
    for url in _serve(Garbled(("127.0.0.1", 0), GarbledHandler)):
        allow_outbound(url)  # the operator allowed it: what it answers is what is under test
        yield url


@pytest.fixture
def hook() -> Iterator[tuple[Hook, str]]:
    server = Hook(("127.0.0.1", 0), HookHandler)
    server.received = []
    for url in _serve(server):
        allow_outbound(url)
        yield server, url


def _inside_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _failures(conn, account_id: int, affiliate_id: int) -> None:
    """25 failed price attempts in the last minute: enough for the default error-rate alert."""
    when = now()
    integration = add_integration(
        conn, account_id, flow="price", affiliate_id=affiliate_id, entity="ALERT-1", status="error",
        message="HTTP 503", category="marketplace_unavailable", processed_at=when, attempts=0,
    )  # fmt: skip
    conn.execute(
        insert(attempts),
        [
            {
                "account_id": account_id,
                "integration_id": integration,
                "trigger": "retry",
                "system": "MLB",
                "status": "error",
                "message": "HTTP 503",
                "category": "marketplace_unavailable",
                "started_at": when - timedelta(seconds=2 * k),
                "duration_ms": 5,
            }
            for k in range(25)
        ],
    )


class World:
    def __init__(self, db, settings, sandbox, box, garbled: str, hook_url: str) -> None:
        self.db, self.box = db, box
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0,), http_timeout=3.0)
        self.accounts: dict[str, int] = {}
        self.market: dict[str, int] = {}
        with db.write() as conn:
            for slug in ("c", "a", "b"):  # the broken store first: its work comes first in every loop
                account = get_or_create_account(conn, slug=f"loja-{slug}")
                self.accounts[slug] = account
                seller = f"seller-{slug}"
                sandbox.register_seller("magalu", seller, "s3cr3t")
                market = {"base_url": sandbox.url, "profile": "magalu", "client_id": seller}
                self.market[slug] = create_affiliate(
                    conn, box=box, account_id=account, code="MLB", name="Mercado Livre", connector="sandbox",
                    settings={**market, "client_secret": "s3cr3t"},
                )  # fmt: skip
                _failures(conn, account, self.market[slug])
            self._break_store_c(conn, garbled)
            for slug in ("a", "b"):
                create_channel(
                    conn, box=box, account_id=self.accounts[slug], kind="webhook", name="Slack",
                    values={"url": f"{hook_url}/{slug}"},
                )  # fmt: skip
                item = {**product(), "list_price": "999.00", "price": "899.00", "stock": {"main": 10}}
                item.pop("active", None)
                save_sku(conn, account_id=self.accounts[slug], item=SkuInput.model_validate(item))
        for slug in ("c", "a", "b"):
            sandbox.place_order("magalu", f"seller-{slug}", [{"sku": "CEL-001", "quantity": 1, "price": 899.0}])

    def _break_store_c(self, conn, garbled: str) -> None:
        c = self.accounts["c"]
        # The marketplace's webhook secret rotated: sealed beside the connector's own secrets.
        row = conn.execute(select(affiliates).where(affiliates.c.id == self.market["c"])).one()
        sealed = self.box.seal({**self.box.open(row.secrets), WEBHOOK_SECRET: "whsec_rotated"})
        conn.execute(update(affiliates).where(affiliates.c.id == row.id).values(secrets=sealed))
        # Settings stored before a connector changed: they no longer validate.
        stale = create_affiliate(
            conn, box=self.box, account_id=c, code="MGL", name="Magalu", connector="sandbox",
            settings={"base_url": garbled, "profile": "magalu", "client_id": "x", "client_secret": "y"},
        )  # fmt: skip
        conn.execute(update(affiliates).where(affiliates.c.id == stale).values(settings={"nonsense": True}))
        # A "marketplace" answering with a NUL and an over-long code, and a message that backtracks.
        create_affiliate(
            conn, box=self.box, account_id=c, code="ODD", name="Odd", connector="sandbox",
            settings={"base_url": garbled, "profile": "odd", "client_id": "x", "client_secret": "y"},
        )  # fmt: skip
        add_rule(conn, account_id=c, actor="c-admin", pattern="(a+)+$", category="integration_config")
        for sku in ("CEL-001", "EXPLODE-1"):
            item = {**product(sku=sku), "list_price": "999.00", "price": "899.00", "stock": {"main": 10}}
            item.pop("active", None)
            save_sku(conn, account_id=c, item=SkuInput.model_validate(item))
        # Alert channels: a line break in an address (saved before addresses were checked), an address inside
        # the network, and secrets sealed with another key.
        inside = f"http://127.0.0.1:{_inside_port()}/hook"
        create_channel(conn, box=self.box, account_id=c, kind="webhook", name="Inside", values={"url": inside})
        email = create_channel(
            conn, box=self.box, account_id=c, kind="email", name="Ops",
            values={"host": "smtp.loja-c.com.br", "to": "ops@loja-c.com.br"},
        )  # fmt: skip
        conn.execute(
            update(alert_channels)
            .where(alert_channels.c.id == email)
            .values(settings={"host": "smtp.loja-c.com.br", "port": 25, "to": ["ops@loja-c.com.br\nBcc: x@y.z"]})
        )
        broken = create_channel(conn, box=self.box, account_id=c, kind="webhook", name="Sealed", values={"url": inside})
        conn.execute(update(alert_channels).where(alert_channels.c.id == broken).values(secrets="not-a-fernet-token"))


@pytest.fixture
def world(db, settings, sandbox, tmp_path, garbled, hook) -> World:
    return World(db, settings, sandbox, SecretBox.from_environment(tmp_path / "secret.key"), garbled, hook[1])


def test_a_broken_store_stops_nothing_of_the_others(world: World, db, hook) -> None:
    server, _ = hook
    worker = Worker(db, world.settings, owner="w-test", box=world.box)
    try:
        # Every store's order, C's too (its rotated webhook secret is not its connector's business), though C's
        # other feeds come first and break.
        assert worker.poll_orders() == 3
        for _ in range(10):
            if not worker.run_once():
                break
    finally:
        worker.close()
    evaluate_alerts(db, world.settings, box=world.box)

    a, b, c = world.accounts["a"], world.accounts["b"], world.accounts["c"]
    with db.read() as conn:
        imported = {r.account_id for r in conn.execute(select(orders.c.account_id))}
        sends = conn.execute(
            select(integrations.c.account_id, integrations.c.entity, integrations.c.status, integrations.c.code).where(
                integrations.c.flow == "product"
            )
        ).all()
        messages = conn.execute(
            select(
                alert_messages.c.account_id,
                alert_messages.c.channel_id,
                alert_messages.c.status,
                alert_messages.c.error,
            )
        ).all()
        c_channels = dict(
            conn.execute(select(alert_channels.c.id, alert_channels.c.name).where(alert_channels.c.account_id == c))
            .tuples()
            .all()
        )
    assert imported == {a, b, c}
    assert {(r.account_id, r.status) for r in sends if r.account_id != c} == {(a, "success"), (b, "success")}
    # C's own sends are recorded on C's items, in words a column can hold.
    odd = [r for r in sends if r.account_id == c and r.entity == "CEL-001" and r.code]
    assert odd and all(len(r.code) <= 120 for r in odd)
    assert {r.status for r in messages if r.account_id in (a, b)} == {"sent"}
    # C's alert went to each of its three broken channels, and each message failed on its own: its error is
    # recorded on it, and it is queued for another try or failed, never stuck in `sending`.
    of_c = {c_channels[r.channel_id]: r for r in messages if r.account_id == c}
    assert len(of_c) == len([r for r in messages if r.account_id == c]) == 3
    assert {r.status for r in of_c.values()} <= {"queued", "failed"}
    assert "not a public Internet address" in of_c["Inside"].error
    assert "linefeed" in of_c["Ops"].error  # the line break in its address
    assert "cannot be opened" in of_c["Sealed"].error
    assert len(server.received) == 2  # one alert each for A and B; none of C's went anywhere


def test_a_message_a_dead_process_left_sending_goes_out_later(db, settings, tmp_path, hook) -> None:
    from ponte.alerts.evaluate import CLAIM_TIMEOUT, deliver

    server, url = hook
    box = SecretBox.from_environment(tmp_path / "secret.key")
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        market = add_affiliate_row(conn, account)
        _failures(conn, account, market)
        create_channel(conn, box=box, account_id=account, kind="webhook", name="Slack", values={"url": url})
    evaluate_alerts(db, settings, box=box)
    assert len(server.received) == 1
    start = now()
    with db.write() as conn:  # a deliverer claimed a message and died
        conn.execute(update(alert_messages).values(status="sending", claimed_at=start, sent_at=None))
    assert deliver(db, box, now=start + CLAIM_TIMEOUT / 2) == 0  # it may still be sending: left alone
    assert deliver(db, box, now=start + CLAIM_TIMEOUT + timedelta(seconds=1)) == 1
    assert len(server.received) == 2


def add_affiliate_row(conn, account: int) -> int:
    from factories import add_affiliate

    return add_affiliate(conn, account, "MLB", "Mercado Livre")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"host": "smtp.x.com", "to": "ops@x.com\nBcc: spy@evil.com"}, "to"),
        ({"host": "smtp.x.com", "to": "ops@x.com", "from_addr": "me@x.com\r\nBcc: spy@evil.com"}, "from_addr"),
        ({"host": "smtp.x.com\r\n", "to": "ops@x.com"}, "host"),
        ({"host": "smtp.x.com", "to": "ops@x.com", "port": "vinte"}, "port"),
    ],
)
def test_an_alert_address_that_would_smuggle_a_header_is_refused_when_saved(db, tmp_path, values, field) -> None:
    from ponte.services.errors import InputError

    box = SecretBox.from_environment(tmp_path / "secret.key")
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        with pytest.raises(InputError) as refused:
            create_channel(conn, box=box, account_id=account, kind="email", name="Ops", values=values)
    assert refused.value.field == field


# -- housekeeping and recording, item by item -----------------------------------------------------------------

HOUSEKEEPING = {  # the step's name in the log, and the store call it makes (stands for a failing statement)
    "creating partitions": "create_month_partitions",
    "pruning attempts": "prune_attempts",
    "forgetting expired sessions": "forget_expired",
}


@pytest.mark.parametrize("broken", HOUSEKEEPING)
def test_housekeeping_runs_each_step_on_its_own(db, settings, tmp_path, monkeypatch, caplog, broken: str) -> None:
    """One step of Worker.maintain failing (a partition that cannot be made, a locked range) is logged, and the
    other steps still run: old attempts are pruned, expired sessions forgotten."""
    from ponte.engine import worker as worker_module
    from ponte.store.partitions import create_month_partitions
    from ponte.store.sessions import create_session

    start = now()
    old = start - timedelta(days=settings.attempt_retention_days + 60)
    with db.write() as conn:
        create_month_partitions(conn, at=old, ahead=1)  # PostgreSQL: the old month's attempts have a partition
        account = get_or_create_account(conn, slug="loja-a")
        market = add_affiliate_row(conn, account)
        for entity, when in (("OLD", old), ("NEW", start)):
            add_integration(
                conn, account, flow="price", affiliate_id=market, entity=entity, status="success", processed_at=when
            )
        user = create_user(conn, account_id=account, email="ana@loja-a.com.br", password="x" * 12, role=Role.ADMIN)
        for token, ends in (("ended", start - timedelta(hours=1)), ("live", start + timedelta(hours=1))):
            create_session(conn, token_hash=token, user_id=user, csrf="c", now=start, expires_at=ends)
    called: list[str] = []
    for name, function in HOUSEKEEPING.items():
        real = getattr(worker_module, function)

        def spy(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            called.append(_name)
            if _name == broken:
                raise RuntimeError(f"{_name}: could not obtain lock")
            return _real(*args, **kwargs)

        monkeypatch.setattr(worker_module, function, spy)

    worker = Worker(db, settings, owner="w-test", box=SecretBox.from_environment(tmp_path / "secret.key"))
    try:
        with caplog.at_level(logging.ERROR, logger="ponte.worker"):
            removed = worker.maintain()
    finally:
        worker.close()

    assert called == list(HOUSEKEEPING)  # every step ran, in order, the broken one too
    failures = [r for r in caplog.records if r.name == "ponte.worker" and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == [f"housekeeping failed ({broken}); the other steps go on"]
    assert failures[0].exc_info and "could not obtain lock" in str(failures[0].exc_info[1])
    with db.read() as conn:
        kept = conn.execute(select(attempts.c.started_at)).scalars().all()
        sessions = set(conn.execute(select(web_sessions.c.token_hash)).scalars())
    if broken == "pruning attempts":
        assert removed == 0 and len(kept) == 2
    else:
        assert removed == 1 and kept == [start]
    assert sessions == ({"ended", "live"} if broken == "forgetting expired sessions" else {"live"})


def test_an_attempt_that_cannot_be_recorded_holds_back_none_of_the_others(
    db, settings, sandbox, tmp_path, monkeypatch, caplog
):
    """A batch of three stores' sends in which one cannot be recorded (here: queuing its new listing's price and
    stock fails, standing for any statement that fails on one store's data): the batch is rolled back and
    recorded item by item (Worker._record_alone); the two others are recorded once, and the bad one as an
    internal error, retried."""
    from ponte.engine import recording

    box = SecretBox.from_environment(tmp_path / "secret.key")
    settings = dataclasses.replace(settings, retry_schedule=(0.0,), http_timeout=3.0)
    market: dict[str, int] = {}
    with db.write() as conn:
        for slug in ("a", "b", "c"):
            account = get_or_create_account(conn, slug=f"loja-{slug}")
            sandbox.register_seller("magalu", f"seller-{slug}", "s3cr3t")
            market[slug] = create_affiliate(
                conn, box=box, account_id=account, code="MLB", name="Mercado Livre", connector="sandbox",
                settings={"base_url": sandbox.url, "profile": "magalu", "client_id": f"seller-{slug}",
                          "client_secret": "s3cr3t"},
            )  # fmt: skip
            item = {**product(), "list_price": "999.00", "price": "899.00", "stock": {"main": 10}}
            item.pop("active", None)
            save_sku(conn, account_id=account, item=SkuInput.model_validate(item))
    broken = [market["b"]]
    real_mark_changed = recording.mark_changed

    def mark_changed(conn, *, keys: list[tuple[int, str]], **kwargs: Any) -> Any:
        """Queues the price and stock of a listing just made: fails on store B's, after the batch's attempts and
        states were written (the batch's savepoint must take them back)."""
        if any(affiliate_id in broken for affiliate_id, _ in keys):
            raise RuntimeError("value too long for type character varying(120)")
        return real_mark_changed(conn, keys=keys, **kwargs)

    monkeypatch.setattr(recording, "mark_changed", mark_changed)

    slug_of = {affiliate_id: slug for slug, affiliate_id in market.items()}

    def products() -> dict[str, tuple[str, list[tuple[str, str]]]]:
        """Each store's product send: its status, and its attempts (status, message) oldest first, the words a
        success gives (the new listing's id) left out."""
        i = integrations.c
        with db.read() as conn:
            sends = conn.execute(select(i.id, i.affiliate_id, i.status).where(i.flow == "product")).all()
            logged = conn.execute(
                select(attempts.c.integration_id, attempts.c.status, attempts.c.message).order_by(attempts.c.id)
            ).all()
        said = [(a.integration_id, a.status, "" if a.status == "success" else a.message) for a in logged]
        return {
            slug_of[send.affiliate_id]: (send.status, [(st, m) for id_, st, m in said if id_ == send.id])
            for send in sends
        }

    worker = Worker(db, settings, owner="w-test", box=box)
    try:
        with caplog.at_level(logging.WARNING, logger="ponte.worker"):
            worker.run_once()
        first = products()
        broken.clear()  # the store's data is fixed: the retry goes through
        for _ in range(5):
            if not worker.run_once(due_by=now() + timedelta(seconds=1)):
                break
    finally:
        worker.close()

    assert first["a"] == first["c"] == ("success", [("success", "")])  # recorded once: the batch was rolled back
    status, logged = first["b"]
    assert status == "pending"  # an internal error is transient: retried
    assert logged == [("error", "Internal error recording the attempt: RuntimeError")]
    messages = [r.getMessage() for r in caplog.records if r.name == "ponte.worker"]
    assert any(m.startswith("recording a batch of") for m in messages)
    assert sum(m.startswith("recording the attempt of integration") for m in messages) == 1
    assert products()["b"] == ("success", [*logged, ("success", "")])
