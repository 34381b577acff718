"""End to end over real HTTP, on SQLite and PostgreSQL, with a real worker: a store selling on a marketplace (the
sandbox's magalu profile) with Bling as its ERP (the Bling connector on the sandbox's Bling emulation). An order
goes to Bling once, Bling's NF-e and tracking come back and reach the marketplace, and the order's history shows
every step. The clock is moved, never waited for (bling.advance)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from bling_support import CLIENT_SECRET, COMPANY, COMPANY_NAME, STORE
from ponte.auth import get_or_create_account
from ponte.connectors.base import Identity
from ponte.domain.checks import nfe_key_is_valid
from ponte.engine.credentials import StoredCredentials
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_skus
from ponte.services.shipping import add_shipping_rule
from ponte.store.tables import affiliates, attempts, integrations, orders
from sandbox_fixtures import admin_get, product

SELLER, SECRET = "loja-alice", "alice-secret"


class Killed(BaseException):
    """The worker process dies (after Bling answered, before Ponte wrote anything down)."""


class BlingHub:
    """A store on one marketplace with Bling as its ERP, and a worker that retries at once."""

    def __init__(self, db, settings, sandbox, bling, tmp_path):
        self.db, self.sandbox, self.bling = db, sandbox, bling
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=10.0)
        self.box = SecretBox.from_environment(tmp_path / "secret.key")
        sandbox.register_seller("magalu", SELLER, SECRET)
        with db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-a")
            self.marketplace = create_affiliate(
                conn, box=self.box, account_id=self.account, code="MLB", name="Marketplace", connector="sandbox",
                settings={"base_url": sandbox.url, "profile": "magalu", "client_id": SELLER, "client_secret": SECRET},
                price_tolerance_pct=2,
            )  # fmt: skip
            self.erp = create_affiliate(
                conn, box=self.box, account_id=self.account, code="BLING", name="Bling", kind="erp",
                connector="bling", settings={**bling.settings(), "client_secret": CLIENT_SECRET},
            )  # fmt: skip
            add_shipping_rule(
                conn, account_id=self.account, sla="Normal", postal_from="01000000", postal_to="39999999",
                max_weight_g=30_000, days=5, price=Decimal("19.90"),
            )  # fmt: skip
            item = {**product(), "list_price": "1999.90", "price": "1999.90", "stock": {"main": 10}}
            item.pop("active")
            items = [SkuInput.model_validate(item)]
            save_skus(conn, account_id=self.account, items=items)
        # The company approved Ponte's app (the consent page is the contract tests' business).
        StoredCredentials(db, self.box, self.erp).store(bling.grant(), Identity(COMPANY, COMPANY_NAME))
        self.worker = Worker(db, self.settings, owner="w-bling", box=self.box)

    def drain(self) -> int:
        total = 0
        for _ in range(50):
            done = self.worker.run_once()
            total += done
            if not done:
                return total
        raise AssertionError("the worker never ran dry")

    def buy(self, quantity: int = 1) -> str:
        body = {
            "seller": SELLER,
            "postal_code": "01310100",
            "items": [{"sku": "CEL-001", "quantity": quantity, "price": 1999.9}],
            "buyer": {"name": "Bruno Lima", "document": "52998224725", "email": "b@example.com"},
        }
        url = f"{self.sandbox.url}/magalu/_buyer/orders"
        order_id = str(httpx.post(url, json=body).raise_for_status().json()["id"])
        assert self.worker.poll_orders(force=True) == 1
        return order_id

    def row(self, flow: str, entity: str, affiliate_id: int):
        with self.db.read() as conn:
            i = integrations.c
            query = select(integrations).where(i.flow == flow, i.entity == entity, i.affiliate_id == affiliate_id)
            return conn.execute(query).one()

    def history(self, order_id: str) -> list[tuple[str, str, str, str]]:
        """(flow, affiliate, status, message) of every attempt about the order, oldest first."""
        with self.db.read() as conn:
            query = (
                select(integrations.c.flow, affiliates.c.code, attempts.c.status, attempts.c.message)
                .join(integrations, integrations.c.id == attempts.c.integration_id)
                .join(affiliates, affiliates.c.id == integrations.c.affiliate_id)
                .where(integrations.c.entity == order_id)
                .order_by(attempts.c.id)
            )
            return [tuple(r) for r in conn.execute(query)]

    def order(self, order_id: str):
        with self.db.read() as conn:
            return conn.execute(select(orders).where(orders.c.external_id == order_id)).one()


@pytest.fixture
def hub(db, settings, sandbox, bling, tmp_path):
    made = BlingHub(db, settings, sandbox, bling, tmp_path)
    made.drain()  # the catalog reaches the marketplace
    yield made
    made.worker.close()


def test_an_order_reaches_bling_and_its_nfe_and_tracking_reach_the_marketplace(hub, bling):
    order_id = hub.buy()
    hub.drain()
    assert hub.row("order", order_id, hub.erp).status == "success", hub.history(order_id)
    [sale] = bling.sales()
    assert sale["numeroLoja"] == order_id and sale["loja"] == {"id": STORE}
    assert hub.row("order", order_id, hub.erp).external_ref == str(sale["id"])
    assert hub.worker.poll_invoices(force=True) == 0  # Bling has not issued it yet
    bling.advance(121)
    assert hub.worker.poll_invoices(force=True) == 1
    order = hub.order(order_id)
    assert order.status == "invoiced" and nfe_key_is_valid(order.invoice_key)
    assert order.invoice_key in order.invoice_xml and order.tracking_number.startswith("BL")
    hub.drain()
    assert hub.row("tracking", order_id, hub.marketplace).status == "success"
    shipped = admin_get(hub.sandbox, f"/magalu/_admin/orders/{order_id}", seller=SELLER)
    assert shipped["shipments"][0]["invoice_key"] == order.invoice_key
    assert hub.worker.poll_invoices(force=True) == 0  # read once
    steps = [(flow, code, status) for flow, code, status, _ in hub.history(order_id)]
    assert steps == [
        ("order", "MLB", "success"),  # imported and placed
        ("order", "BLING", "success"),  # sent to Bling
        ("order", "BLING", "success"),  # invoiced in Bling
        ("tracking", "MLB", "success"),  # the invoice and tracking at the marketplace
    ]
    messages = [message for *_, message in hub.history(order_id)]
    assert "Sales order" in messages[1] and order.invoice_key in messages[2]


def test_a_tracking_code_bling_gets_after_the_nfe_reaches_the_marketplace_when_it_comes(hub, bling):
    """The carrier's code comes an hour after the NF-e: the marketplace refuses the shipment without it (red), the
    next reads of Bling's invoices ask for it again, and once Bling has it the order is shipped (green)."""
    bling.admin("config", tracking_seconds=3600)
    order_id = hub.buy()
    hub.drain()
    bling.advance(121)
    assert hub.worker.poll_invoices(force=True) == 1
    assert hub.order(order_id).tracking_number is None
    hub.drain()
    assert hub.row("tracking", order_id, hub.marketplace).status == "error"  # the marketplace wants the code
    assert hub.worker.poll_invoices(force=True) == 0 and hub.order(order_id).tracking_number is None
    bling.advance(3600)
    assert hub.worker.poll_invoices(force=True) == 0  # no new NF-e: the code of the one already kept
    order = hub.order(order_id)
    assert order.tracking_number and order.tracking_number.startswith("BL") and order.carrier == "Correios"
    assert hub.row("tracking", order_id, hub.marketplace).status == "pending"
    hub.drain()
    assert hub.row("tracking", order_id, hub.marketplace).status == "success"
    shipped = admin_get(hub.sandbox, f"/magalu/_admin/orders/{order_id}", seller=SELLER)
    assert [s["tracking_number"] for s in shipped["shipments"]] == [order.tracking_number]
    messages = [message for flow, code, _, message in hub.history(order_id) if code == "BLING"]
    assert messages[-1] == f"BLING has the tracking code now: {order.tracking_number}"
    steps = len(hub.history(order_id))
    assert hub.worker.poll_invoices(force=True) == 0 and len(hub.history(order_id)) == steps  # asked for once


def test_an_order_appears_once_in_bling_when_the_worker_dies_after_bling_answered(hub, bling, monkeypatch):
    order_id = hub.buy()
    real = Worker._record
    calls = {"n": 0}

    def dies(self, conn, works, rules):
        if any(w.claim.flow == "order" and w.affiliate.id == hub.erp for w in works) and not calls["n"]:
            calls["n"] += 1
            raise Killed()
        return real(self, conn, works, rules)

    monkeypatch.setattr(Worker, "_record", dies)
    with pytest.raises(Killed):
        hub.drain()
    assert len(bling.sales()) == 1  # Bling has it; Ponte wrote nothing down
    assert hub.row("order", order_id, hub.erp).status == "pending"
    bling.advance(hub.settings.lease_seconds + 1)  # the dead worker's lease runs out
    hub.drain()
    row = hub.row("order", order_id, hub.erp)
    assert row.status == "success" and "already in Bling" in row.message
    assert len(bling.sales()) == 1 and row.external_ref == str(bling.sales()[0]["id"])


def test_an_nfe_whose_key_fails_its_check_digit_is_kept_out_and_shown(hub, bling):
    order_id = hub.buy()
    hub.drain()
    bling.advance(121)
    [note] = bling.notes()
    broken = note["chaveAcesso"][:-1] + str((int(note["chaveAcesso"][-1]) + 1) % 10)
    bling.admin(f"notes/{note['id']}", company=COMPANY, chaveAcesso=broken)
    assert hub.worker.poll_invoices(force=True) == 0
    assert hub.order(order_id).status == "placed" and hub.order(order_id).invoice_key is None
    row = hub.row("order", order_id, hub.erp)
    assert (row.status, row.category) == ("error", "invoice_tracking_rejected") and broken in row.message


def test_an_order_bling_refuses_keeps_blings_words(hub, bling):
    bling.admin("companies", id="other")  # nothing changes for the demo company
    with hub.db.write() as conn:
        from ponte.services.affiliates import update_affiliate

        update_affiliate(
            conn,
            box=hub.box,
            account_id=hub.account,
            affiliate_id=hub.erp,
            changes={"settings": {"payment_method_id": 77}},
        )
    order_id = hub.buy()
    hub.drain()
    row = hub.row("order", order_id, hub.erp)
    assert (row.status, row.category) == ("error", "integration_config")
    assert "Id da forma de pagamento inválido." in row.message and bling.sales() == []


def test_an_order_invoiced_elsewhere_keeps_its_nfe_and_blings_is_noted(hub, bling):
    from ponte.services.orders import set_tracking
    from sandbox_fixtures import nfe_key

    order_id = hub.buy()
    hub.drain()
    with hub.db.write() as conn:  # the store invoiced it through the API before Bling did
        data = {"invoice_key": nfe_key(), "carrier": "Correios", "tracking_number": "BR123456789BR"}
        set_tracking(conn, account_id=hub.account, external_id=order_id, data=data)
    bling.advance(121)
    assert hub.worker.poll_invoices(force=True) == 0
    assert hub.order(order_id).invoice_key == nfe_key()
    row = hub.row("order", order_id, hub.erp)
    assert row.status == "warning" and "already invoiced" in row.message
