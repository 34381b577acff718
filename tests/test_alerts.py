"""Alerts end to end: incidents driven through the sandbox and delivered to a real local SMTP server and webhook
receiver; one message per incident however many failures; quiet flows; defaults; the API and the page."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select, update

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import ADA, ALICE, add_account, add_affiliate, add_integration, add_orders_every, build_store, login
from ponte.alerts import evaluate_alerts, rhythm
from ponte.alerts.channels import create_channel
from ponte.alerts.rules import list_rules
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.domain import Role
from ponte.domain.messages import from_columns, say
from ponte.engine.worker import Worker
from ponte.i18n import Translator
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_sku
from ponte.store.tables import alert_channels, alert_incidents, alert_messages, attempts, integrations
from sandbox_fixtures import allow_outbound, product

# -- local receivers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    allow_outbound(f"smtp://127.0.0.1:{port}")
    yield inbox, port
    controller.stop()


@pytest.fixture
def hook() -> Iterator[tuple[list[dict[str, Any]], str]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    allow_outbound(f"http://127.0.0.1:{server.server_address[1]}")
    yield received, f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    server.shutdown()
    server.server_close()


@pytest.fixture
def box(tmp_path) -> SecretBox:
    return SecretBox.from_environment(tmp_path / "secret.key")


def _channels(db, box, account_id, smtp_port, hook_url, locale="pt-BR"):
    with db.write() as conn:
        create_channel(
            conn,
            box=box,
            account_id=account_id,
            kind="email",
            name="Ops",
            values={"host": "127.0.0.1", "port": smtp_port, "to": "ops@loja-a.com.br", "password": "smtp-pass"},
            locale=locale,
        )
        create_channel(
            conn, box=box, account_id=account_id, kind="webhook", name="Slack", values={"url": hook_url}, locale=locale
        )


@pytest.fixture(autouse=True)
def _fresh_rhythms():
    rhythm.forget()
    yield
    rhythm.forget()


# -- an incident through the sandbox ------------------------------------------------------------------


def _ean(n: int) -> str:
    """A distinct, valid EAN-13 per SKU (the marketplace refuses a GTIN used twice)."""
    digits = f"789100{n:06d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def test_a_burst_of_5xx_sends_one_alert_and_one_recovery_by_email_and_webhook(db, settings, sandbox, box, smtp, hook):
    inbox, port = smtp
    posts, url = hook
    sandbox.register_seller("magalu", "loja-alice", "alice-secret")
    fast = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=3.0, worker_batch=200)
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        create_affiliate(
            conn,
            box=box,
            account_id=account,
            code="MLB",
            name="Mercado Livre",
            connector="sandbox",
            settings={
                "base_url": sandbox.url,
                "profile": "magalu",
                "client_id": "loja-alice",
                "client_secret": "alice-secret",
            },
        )
        for n in range(25):
            item = {**product(sku=f"CEL-{n:03d}", ean=_ean(n)), "list_price": "999.00", "price": "899.00"}
            item.pop("active", None)
            item["stock"] = {"main": 5}
            save_sku(conn, account_id=account, item=SkuInput.model_validate(item))
    _channels(db, box, account, port, url)
    worker = Worker(db, fast, owner="w-alerts", box=box)
    try:
        sandbox.control("faults", error_rate=1.0, status=503, path_contains="/items")
        worker.run_once()  # every product send answered 503: 25 failed attempts
        evaluate_alerts(db, fast, box=box)
        evaluate_alerts(db, fast, box=box)  # still failing a moment later: no second message
        assert len(inbox.messages) == 1 and len(posts) == 1
        assert "produtos" in inbox.subjects[0] and "MLB" in inbox.subjects[0] and "Alerta" in inbox.subjects[0]
        assert "25 de 25 tentativas" in inbox.messages[0].get_content()
        assert posts[0]["text"].startswith("[Ponte] Alerta") and posts[0]["blocks"][0]["type"] == "header"

        with db.write() as conn:  # the burst was 40 minutes ago: out of the 30-minute window
            for attempt_id, started in conn.execute(select(attempts.c.id, attempts.c.started_at)).all():
                moved = started - timedelta(minutes=40)
                conn.execute(update(attempts).where(attempts.c.id == attempt_id).values(started_at=moved))
        sandbox.control("faults", error_rate=0.0)
        for _ in range(10):
            if not worker.run_once():
                break
        evaluate_alerts(db, fast, box=box)
        evaluate_alerts(db, fast, box=box)
    finally:
        worker.close()
    assert len(inbox.messages) == 2 and len(posts) == 2
    assert inbox.subjects[1].startswith("[Ponte] Resolvido")
    assert posts[1]["text"].startswith("[Ponte] Resolvido")
    with db.read() as conn:
        incident = conn.execute(select(alert_incidents)).one()
    assert incident.status == "resolved" and incident.kind == "error_rate" and incident.flow == "product"


# -- one message per incident --------------------------------------------------------------------------


def _failures(conn, account_id, affiliate_id, n, when, entity="SKU-1"):
    """`n` failed price attempts on one integration, spread over the minute before `when`."""
    integration = add_integration(
        conn,
        account_id,
        flow="price",
        affiliate_id=affiliate_id,
        entity=entity,
        status="error",
        message="HTTP 503",
        category="marketplace_unavailable",
        processed_at=when,
        attempts=0,
    )
    rows = [
        {
            "account_id": account_id,
            "integration_id": integration,
            "trigger": "retry",
            "system": "MLB",
            "status": "error",
            "message": "HTTP 503",
            "category": "marketplace_unavailable",
            "started_at": when - timedelta(seconds=60 * k / n),
            "duration_ms": 5,
        }
        for k in range(n)
    ]
    conn.execute(insert(attempts), rows)


def test_a_thousand_failures_in_a_minute_send_one_message(db, settings, box, smtp, hook):
    inbox, port = smtp
    posts, url = hook
    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        _failures(conn, store.account_id, store.affiliates["MLB"], 1000, now())
    _channels(db, box, store.account_id, port, url, locale="en")
    for _ in range(3):
        evaluate_alerts(db, settings, box=box)
    assert len(inbox.messages) == 1 and len(posts) == 1
    assert inbox.subjects[0] == "[Ponte] Alert: MLB · price: 100% errors"
    assert "1000 of 1000 price attempts to MLB failed in the last 30 min" in inbox.messages[0].get_content()


def test_an_ongoing_incident_gets_one_digest_after_thirty_minutes_and_not_before(db, settings, box, smtp, hook):
    inbox, port = smtp
    _, url = hook
    start = now()
    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        _failures(conn, store.account_id, store.affiliates["MLB"], 30, start)
        _failures(conn, store.account_id, store.affiliates["MLB"], 25, start + timedelta(minutes=5), entity="SKU-2")
    _channels(db, box, store.account_id, port, url, locale="en")
    evaluate_alerts(db, settings, box=box, now=start)
    evaluate_alerts(db, settings, box=box, now=start + timedelta(minutes=10))  # 55 errors now, but throttled
    evaluate_alerts(db, settings, box=box, now=start + timedelta(minutes=29))
    assert len(inbox.messages) == 1
    evaluate_alerts(db, settings, box=box, now=start + timedelta(minutes=31))  # only the second burst in the window
    evaluate_alerts(db, settings, box=box, now=start + timedelta(minutes=32))
    assert len(inbox.messages) == 2
    assert inbox.subjects[1] == "[Ponte] Still happening: MLB · price: 100% errors"
    assert "Since the last message" in inbox.messages[1].get_content()
    assert "errors 30 → 25" in inbox.messages[1].get_content()


# -- quiet flows -----------------------------------------------------------------------------------------


def test_a_marketplace_gone_quiet_past_its_usual_rhythm_is_reported_in_plain_words(db, settings, box, smtp, hook):
    inbox, port = smtp
    posts, url = hook
    last = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        add_orders_every(conn, store.account_id, store.affiliates["MLB"], every=timedelta(minutes=20), until=last)
    _channels(db, box, store.account_id, port, url)
    evaluate_alerts(db, settings, box=box, now=last + timedelta(minutes=50))  # 2.5× the usual gap: not yet
    assert inbox.messages == []
    evaluate_alerts(db, settings, box=box, now=last + timedelta(hours=3, minutes=10))
    assert len(inbox.messages) == 1 and len(posts) == 1
    assert "Nenhum pedido do MLB há 3h10; o normal a esta hora é até 20 min." in inbox.messages[0].get_content()
    with db.write() as conn:  # an order arrives: the flow is alive again
        add_orders_every(
            conn,
            store.account_id,
            store.affiliates["MLB"],
            every=timedelta(minutes=1),
            days=0,
            until=last + timedelta(hours=3, minutes=15),
        )
    rhythm.forget()
    evaluate_alerts(db, settings, box=box, now=last + timedelta(hours=3, minutes=16))
    assert len(inbox.messages) == 2 and inbox.subjects[1].startswith("[Ponte] Resolvido")


def test_a_marketplace_with_too_few_orders_to_know_its_rhythm_is_never_called_quiet(db, settings, box):
    last = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        add_orders_every(conn, store.account_id, store.affiliates["MLB"], every=timedelta(days=1), until=last, days=10)
    evaluate_alerts(db, settings, box=box, now=last + timedelta(days=5))
    with db.read() as conn:
        assert conn.execute(select(alert_incidents)).first() is None


# -- other rules and defaults ----------------------------------------------------------------------------


def test_rejected_credentials_alert_at_once_and_clear_on_the_next_success(db, settings, box):
    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        iid = add_integration(
            conn,
            store.account_id,
            flow="inventory",
            affiliate_id=store.affiliates["AMZ"],
            entity="SKU-1",
            status="error",
            message="Acesso Negado - Auth-token inválido",
            category="auth_invalid",
            processed_at=now() - timedelta(minutes=1),
        )
    assert evaluate_alerts(db, settings, box=box) == 1
    with db.read() as conn:
        incident = conn.execute(select(alert_incidents)).one()
    assert (incident.kind, incident.status, incident.facts["errors"]) == ("credentials", "open", 1)
    with db.write() as conn:
        from factories import complete

        complete(conn, store.account_id, iid)
    evaluate_alerts(db, settings, box=box)
    with db.read() as conn:
        assert conn.execute(select(alert_incidents.c.status)).scalar_one() == "resolved"


def test_work_pending_longer_than_the_limit_opens_an_incident(db, settings, box):
    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        iid = add_integration(
            conn,
            store.account_id,
            flow="product",
            affiliate_id=store.affiliates["MLB"],
            entity="SKU-1",
            status="pending",
            attempts=0,
        )
        conn.execute(update(integrations).where(integrations.c.id == iid).values(due_at=now() - timedelta(minutes=61)))
        fresh = add_integration(
            conn,
            store.account_id,
            flow="price",
            affiliate_id=store.affiliates["MLB"],
            entity="SKU-1",
            status="pending",
            attempts=0,
        )
        conn.execute(update(integrations).where(integrations.c.id == fresh).values(due_at=now() - timedelta(minutes=5)))
    evaluate_alerts(db, settings, box=box)
    with db.read() as conn:
        found = conn.execute(select(alert_incidents)).all()
    assert [(i.kind, i.flow, i.facts["count"]) for i in found] == [("pending_age", "product", 1)]


def test_every_new_account_starts_with_the_default_rules(db):
    with db.write() as conn:
        account = add_account(conn, "loja-nova", {})
        rules = list_rules(conn, account_id=account)
    assert {(r.kind, r.threshold, r.window_minutes, r.min_count) for r in rules} == {
        ("error_rate", 20.0, 30, 20),
        ("pending_age", None, 60, None),
        ("credentials", None, None, None),
        ("stock_drift", None, None, None),
        ("quiet_orders", 3.0, 30, None),
    }
    assert all(r.enabled and r.builtin for r in rules)


def test_a_channel_that_refuses_is_retried_then_given_up_and_the_history_says_why(db, settings, box):
    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        _failures(conn, store.account_id, store.affiliates["MLB"], 25, now())
        port = _free_port()
        allow_outbound(f"smtp://127.0.0.1:{port}")  # allowed, and nothing listens there
        create_channel(
            conn,
            box=box,
            account_id=store.account_id,
            kind="email",
            name="Nowhere",
            values={"host": "127.0.0.1", "port": port, "to": "ops@loja-a.com.br"},
        )
    for _ in range(4):
        evaluate_alerts(db, settings, box=box)
    with db.read() as conn:
        message = conn.execute(select(alert_messages)).one()
    assert (message.status, message.tries) == ("failed", 3)
    assert "SMTP 127.0.0.1" in message.error
    said = from_columns(message.error_key, message.error_params)  # and in the reader's language on the page
    assert said is not None and said.key == "msg.alert.smtp_failed" and said.params["host"] == "127.0.0.1"
    answered = say("msg.alert.webhook_answered", answer="500")
    assert [Translator(lang).said(answered, "?") for lang in ("pt-BR", "es", "en")] == [
        "o webhook respondeu 500", "el webhook respondió 500", "the webhook answered 500",
    ]  # fmt: skip


def test_channel_secrets_are_stored_sealed(db, box):
    with db.write() as conn:
        account = add_account(conn, "loja-a", {})
        create_channel(
            conn,
            box=box,
            account_id=account,
            kind="webhook",
            name="Slack",
            values={"url": "https://hooks.slack.com/services/T1/B2/very-secret"},
        )
        sealed = conn.execute(select(alert_channels.c.secrets, alert_channels.c.settings)).one()
    assert "very-secret" not in sealed.secrets and "very-secret" not in json.dumps(sealed.settings)
    assert box.open(sealed.secrets)["url"].endswith("very-secret")


# -- API and page ------------------------------------------------------------------------------------------


def test_the_api_lets_a_viewer_read_rules_and_only_an_admin_change_them(client, world):
    rules = client.get("/api/v1/alerts/rules", headers=world.auth("victor"))
    assert rules.status_code == 200 and len(rules.json()) == 5
    body = {"kind": "error_rate", "flow": "price", "threshold": 5, "window_minutes": 15}
    assert client.post("/api/v1/alerts/rules", json=body, headers=world.auth("alice")).status_code == 403
    made = client.post("/api/v1/alerts/rules", json=body, headers=world.auth("ada"))
    assert made.status_code == 201 and made.json()["min_count"] == 20 and made.json()["builtin"] is False
    builtin = rules.json()[0]["id"]
    refused = client.delete(f"/api/v1/alerts/rules/{builtin}", headers=world.auth("ada"))
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    off = client.patch(f"/api/v1/alerts/rules/{builtin}", json={"enabled": False}, headers=world.auth("ada"))
    assert off.json()["enabled"] is False
    assert client.get(f"/api/v1/alerts/rules/{builtin}", headers=world.auth("bob")).status_code == 404
    bad = client.post("/api/v1/alerts/rules", json={**body, "threshold": 500}, headers=world.auth("ada"))
    assert bad.status_code == 422 and bad.json()["field"] == "threshold"


def test_the_api_never_returns_a_channels_secret(client, world):
    body = {"kind": "webhook", "name": "Slack", "url": "https://hooks.slack.com/services/T1/B2/very-secret"}
    made = client.post("/api/v1/alerts/channels", json=body, headers=world.auth("ada"))
    assert made.status_code == 201 and made.json()["secret_set"] is True
    listed = client.get("/api/v1/alerts/channels", headers=world.auth("victor"))
    assert "very-secret" not in made.text + listed.text
    assert client.get("/api/v1/alerts/channels", headers=world.auth("bob")).json() == []
    assert client.get("/api/v1/alerts/incidents", headers=world.auth("victor")).json() == []


def test_the_alerts_page_shows_rules_and_lets_an_admin_add_a_webhook(settings, db):
    from fastapi.testclient import TestClient

    from ponte.app import create_app

    with db.write() as conn:
        store = build_store(conn, "loja-a", {ALICE: Role.OPERATOR, ADA: Role.ADMIN})
        add_affiliate(conn, store.account_id, "SHP", "Shopee")
    with TestClient(create_app(settings, db=db), follow_redirects=True) as client:
        login(client, ALICE)
        page = client.get("/alerts")
        assert page.status_code == 200 and "Taxa de erros" in page.text and "Credenciais recusadas" in page.text
        assert 'action="/alerts/channels"' not in page.text  # an operator does not edit alerts
        client.post("/logout", data={"csrf": login(client, ALICE)})
        csrf = login(client, ADA)
        added = client.post(
            "/alerts/channels",
            data={
                "csrf": csrf,
                "kind": "webhook",
                "name": "Time de ops",
                "url": "https://hooks.slack.com/services/T/B/secret-path",
            },
        )
        assert added.status_code == 200 and "Time de ops" in added.text and "secret-path" not in added.text


def test_one_worker_evaluates_each_run_and_the_others_skip_it(db, settings, box):
    """Every worker calls the evaluation once a minute; only the first after a run's interval reads the stores'
    findings. Seen through an open incident's last_seen_at, which each evaluation moves."""
    from ponte.alerts import evaluate_alerts_when_due
    from ponte.engine.queue import mark_changed
    from ponte.store.jobs import claim_run

    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    minute = timedelta(seconds=54)
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate = add_affiliate(conn, account, "MLB", "MLB")
        mark_changed(
            conn, account_id=account, flow="price", keys=[(affiliate, "SKU-1")], now=start - timedelta(hours=2)
        )

    def last_seen():
        with db.read() as conn:
            return conn.execute(select(alert_incidents.c.last_seen_at)).scalar_one()

    evaluate_alerts_when_due(db, settings, every=minute, now=start, box=box)  # pending for two hours: opened
    assert last_seen() == start
    evaluate_alerts_when_due(db, settings, every=minute, now=start + timedelta(seconds=20), box=box)  # another
    assert last_seen() == start
    evaluate_alerts_when_due(db, settings, every=minute, now=start + timedelta(seconds=60), box=box)
    assert last_seen() == start + timedelta(seconds=60)
    with db.write() as conn:  # the claim itself: one winner per interval
        later = start + timedelta(minutes=5)
        assert [claim_run(conn, job="alerts", now=later, every=minute) for _ in range(2)] == [True, False]
        assert claim_run(conn, job="other", now=later, every=minute)
