"""Mercado Livre end to end: a store connected to the emulated Mercado Livre through the real connector, a real
worker, Ponte's own HTTP server for the notifications, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from meli_fixtures import CLIENT_ID, CLIENT_SECRET, SELLER_ID, Meli, identity
from ponte.app import create_app
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.demo import demo_invoice_xml
from ponte.engine.credentials import StoredCredentials
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_sku
from ponte.services.orders import set_tracking
from ponte.services.shipping import add_shipping_rule
from ponte.store.credentials import read_credentials
from ponte.store.db import Database
from ponte.store.tables import attempts, integrations, listings, notifications, orders
from sandbox_fixtures import nfe_key, product
from servers import serving


class MeliHub:
    """A store selling on the emulated Mercado Livre: its affiliate connected, a worker, and Ponte served."""

    def __init__(self, db: Database, settings: Any, meli: Meli, tmp_path: Any, ponte_url: str) -> None:
        self.db, self.meli = db, meli
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=5.0)
        self.box = SecretBox.from_environment(tmp_path / "secret.key")
        meli.admin("POST", "/apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[],
                   callback_url=f"{ponte_url}/notifications/mercadolivre")  # fmt: skip
        with db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-ml")
            self.affiliate = create_affiliate(
                conn,
                box=self.box,
                account_id=self.account,
                code="MLB",
                name="Mercado Livre",
                connector="mercadolivre",
                settings={**meli.settings(requests_per_second=200), "client_secret": CLIENT_SECRET},
                price_tolerance_pct=2,
            )
            add_shipping_rule(
                conn, account_id=self.account, sla="Normal", postal_from="01000000", postal_to="39999999",
                max_weight_g=30_000, days=5, price=Decimal("19.90"),
            )  # fmt: skip
        StoredCredentials(db, self.box, self.affiliate).store(meli.grant(), identity())
        self.worker = Worker(db, self.settings, owner="w-meli", box=self.box)

    def save(self, sku: str = "CEL-001", **changes: Any) -> None:
        item = {
            **product(sku, **{"category": "1055", **changes}),
            "list_price": "999.00",
            "price": "899.00",
            "stock": {"main": 10},
        }
        item.pop("active", None)
        with self.db.write() as conn:
            save_sku(conn, account_id=self.account, item=SkuInput.model_validate(item))

    def drain(self) -> None:
        """Run the worker until nothing is due within a few seconds (a price waiting for its product's send, say):
        claimed as of that moment, so no test waits for the clock."""
        for _ in range(20):
            if not self.worker.run_once(due_by=now() + timedelta(seconds=3)):
                return

    def row(self, flow: str, entity: str = "CEL-001") -> Any:
        with self.db.read() as conn:
            query = select(integrations).where(integrations.c.flow == flow, integrations.c.entity == entity)
            return conn.execute(query).one()

    def count(self, query: Any) -> int:
        with self.db.read() as conn:
            return int(conn.execute(query).scalar_one())


@pytest.fixture
def hub(db: Database, settings: Any, meli: Meli, tmp_path: Any) -> Iterator[MeliHub]:
    with serving(create_app(settings, db=db)) as ponte_url:
        made = MeliHub(db, settings, meli, tmp_path, ponte_url)
        yield made
        made.worker.close()


def test_a_fix_and_reprocess_updates_the_same_item_never_a_second_listing(hub: MeliHub) -> None:
    hub.save(category="1000")  # a parent category: Mercado Livre refuses it
    hub.drain()
    refused = hub.row("product")
    assert (refused.status, refused.code, refused.category) == ("error", "item.category_id.invalid", "invalid_category")
    assert "is not a leaf" in refused.message
    hub.save()  # fixed: a leaf category
    hub.drain()
    listed = hub.row("product")
    assert listed.status == "success" and listed.external_ref.startswith("MLB")
    hub.save(name="Smartphone Acme X1 128 GB Preto")  # a later change of the store's data
    hub.drain()
    (item,) = hub.meli.items("CEL-001")
    assert item["id"] == listed.external_ref == hub.row("product").external_ref
    assert item["title"] == "Smartphone Acme X1 128 GB Preto"
    with hub.db.read() as conn:
        assert conn.execute(select(listings.c.listing_id).where(listings.c.sku == "CEL-001")).scalar_one() == item["id"]
    assert (hub.row("price").status, hub.row("inventory").status) == ("success", "success")


def test_a_warning_from_mercado_livre_makes_the_integration_com_aviso(hub: MeliHub) -> None:
    item = {**product("CAMA-1", category="1574", ean=None, attributes={"COLOR": "Bege"}), "price": "99.00"}
    item.pop("active", None)
    with hub.db.write() as conn:
        save_sku(conn, account_id=hub.account, item=SkuInput.model_validate(item))
    hub.drain()
    row = hub.row("product", "CAMA-1")
    assert row.status == "warning" and row.code == "create.item.attribute.business_conditional"


def test_a_notified_order_is_placed_once_even_when_notified_five_times_and_found_by_the_poll(hub: MeliHub) -> None:
    hub.save()
    hub.drain()
    bought = hub.meli.buy(hub.row("product").external_ref, notify=5)
    delivered = [d for d in hub.meli.stats()["delivered"] if d["body"]["resource"] == f"/orders/{bought['orders'][0]}"]
    assert [d["status"] for d in delivered] == [200] * 5  # Ponte answered each at once
    assert hub.count(select(func.count()).select_from(notifications)) == 1  # kept once while it waits
    assert hub.worker.process_notifications() == 1
    assert hub.worker.poll_orders(force=True) == 0  # the safety net finds it too, and knows it
    hub.drain()
    with hub.db.read() as conn:
        (order,) = conn.execute(select(orders)).all()
    assert order.external_id == str(bought["orders"][0]) and order.status == "placed"
    assert order.marketplace_data["shipment_id"] == bought["shipment_id"] and order.postal_code == "01310100"
    placements = select(func.count()).select_from(attempts).join(integrations).where(integrations.c.flow == "order")
    assert hub.count(placements) == 1


def test_an_order_missed_by_the_notifications_is_found_by_the_poll(hub: MeliHub) -> None:
    hub.save()
    hub.drain()
    bought = hub.meli.buy(hub.row("product").external_ref, notify=0)
    assert hub.worker.poll_orders(force=True) == 1
    hub.drain()
    assert hub.row("order", str(bought["orders"][0])).status == "success"


def test_an_nfe_reaches_the_shipment_and_is_an_attempt_in_the_orders_history(hub: MeliHub) -> None:
    hub.save()
    hub.drain()
    bought = hub.meli.buy(hub.row("product").external_ref, notify=0)
    hub.worker.poll_orders(force=True)
    hub.drain()
    order_id, key = str(bought["orders"][0]), nfe_key()
    with hub.db.write() as conn:
        data = {
            "invoice_key": key,
            "invoice_xml": demo_invoice_xml(key),
            "carrier": "Correios",
            "tracking_number": "AA1BR",
        }
        set_tracking(conn, account_id=hub.account, external_id=order_id, data=data)
    hub.drain()
    assert hub.row("tracking", order_id).status == "success"
    assert hub.meli.admin("GET", f"/shipments/{bought['shipment_id']}")["invoice"]["key"] == key


def test_a_revoked_grant_stops_the_sends_without_a_retry_storm_and_alerts_once(hub: MeliHub) -> None:
    from ponte.alerts import evaluate_alerts
    from ponte.store.tables import alert_incidents

    hub.save()
    hub.drain()
    hub.meli.admin("POST", "/grants/revoke", user_id=SELLER_ID)
    hub.meli.admin("POST", "/tokens/expire")  # the stored token must be renewed: the refresh is refused
    for n in range(3):
        hub.save(f"CEL-00{n + 2}", ean=None)
    hub.drain()
    rows = [hub.row("product", f"CEL-00{n + 2}") for n in range(3)]
    assert {(r.status, r.category, r.disposition) for r in rows} == {("error", "auth_invalid", "fix")}
    with hub.db.read() as conn:
        creds = read_credentials(conn, hub.affiliate)
    assert creds is not None and creds.status == "revoked" and "already used" in (creds.problem or "")
    items_before = len(hub.meli.items())
    hub.save("CEL-009")
    hub.drain()
    assert len(hub.meli.items()) == items_before  # no call to Mercado Livre any more
    evaluate_alerts(hub.db, hub.settings, box=hub.box)
    evaluate_alerts(hub.db, hub.settings, box=hub.box)
    query = select(func.count()).select_from(alert_incidents).where(alert_incidents.c.kind == "credentials")
    assert hub.count(query) == 1


def test_a_429_pauses_mercado_livre_for_every_worker(hub: MeliHub) -> None:
    hub.save()
    hub.drain()
    hub.meli.admin("POST", "/config", rate=0.001, burst=1)
    for n in range(3):
        hub.save(f"CEL-10{n}")
    hub.worker.run_once()
    sent = len(hub.meli.items())
    other = Worker(hub.db, hub.settings, owner="w-other", box=hub.box)
    with hub.db.write() as conn:  # due now: only the shared pause may hold them
        conn.execute(
            integrations.update().where(integrations.c.status == "pending").values(due_at=integrations.c.created_at)
        )
    other.run_once()
    other.close()
    assert len(hub.meli.items()) == sent
    pending = select(func.count()).select_from(integrations).where(integrations.c.status == "pending")
    assert hub.count(pending) >= 3  # held, not failed


def test_the_notification_endpoint_keeps_only_order_topics_and_refuses_garbage(hub: MeliHub, settings: Any) -> None:
    with serving(create_app(settings, db=hub.db)) as url:
        kept = httpx.post(
            f"{url}/notifications/mercadolivre", json={"resource": "/orders/1", "user_id": 5, "topic": "orders_v2"}
        )
        other = httpx.post(
            f"{url}/notifications/mercadolivre", json={"resource": "/items/MLB1", "user_id": 5, "topic": "items"}
        )
        garbage = httpx.post(f"{url}/notifications/mercadolivre", content=b"{not json")
        unknown = httpx.post(f"{url}/notifications/shopee", json={})
    assert (kept.status_code, kept.json()) == (200, {"kept": True})
    assert (other.status_code, other.json()) == (200, {"kept": False})
    assert garbage.status_code == 422 and unknown.status_code == 404
