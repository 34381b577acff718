"""The store's catalog from Bling, end to end over real HTTP on SQLite and PostgreSQL: a first import of the emulated
Bling's products with their balances, a price changed in Bling reaching the marketplace, Bling's webhook received at
Ponte's endpoint, the conflict rule when both sides changed a field, the report of rejected products, and Bling's
3 requests a second kept during an import. The clock is moved, never waited for (bling.advance)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bling_support import (
    CATALOG,
    CLIENT_ID,
    CLIENT_SECRET,
    COMPANY,
    COMPANY_NAME,
    DEPOSIT,
    SHOP_DEPOSIT,
    catalog_products,
)
from ponte.app import create_app
from ponte.auth import get_or_create_account
from ponte.connectors.base import Identity
from ponte.engine.credentials import StoredCredentials
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services import catalog_edit, erp_catalog
from ponte.services.affiliates import create_affiliate
from ponte.store.audit import list_entries
from ponte.store.erp_catalog import catalog_read
from ponte.store.tables import integrations, skus, stock
from sandbox_fixtures import admin_get
from servers import serving

SELLER, SECRET = "loja-alice", "alice-secret"


class CatalogHub:
    """A store on one marketplace (the sandbox's magalu profile) whose catalog comes from Bling."""

    def __init__(self, db, settings, sandbox, bling, tmp_path, **erp_settings):
        self.db, self.sandbox, self.bling = db, sandbox, bling
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=10.0)
        self.box = SecretBox.from_environment(tmp_path / "secret.key")
        sandbox.register_seller("magalu", SELLER, SECRET)
        with db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-a")
            self.marketplace = create_affiliate(
                conn, box=self.box, account_id=self.account, code="MLB", name="Marketplace", connector="sandbox",
                settings={"base_url": sandbox.url, "profile": "magalu", "client_id": SELLER, "client_secret": SECRET},
            )  # fmt: skip
            self.erp = create_affiliate(
                conn, box=self.box, account_id=self.account, code="BLING", name="Bling", kind="erp",
                connector="bling", settings={**bling.settings(**erp_settings), "client_secret": CLIENT_SECRET},
            )  # fmt: skip
        StoredCredentials(db, self.box, self.erp).store(bling.grant(), Identity(COMPANY, COMPANY_NAME))
        self.worker = Worker(db, self.settings, owner="w-cat", box=self.box, keep_catalog=erp_catalog.keep_notified)

    def affiliate(self):
        from ponte.store.affiliates import affiliates_by_id

        with self.db.read() as conn:
            return affiliates_by_id(conn, [self.erp])[self.erp]

    def start(self) -> None:
        with self.db.write() as conn:
            erp_catalog.start_import(conn, account_id=self.account, affiliate_id=self.erp, actor="alice")

    def run_import(self, seen=None):
        self.bling.advance(2)  # a walk reads again what changed in its first second: begin it after the seeding
        self.start()
        return erp_catalog.run_import(self.db, self.affiliate(), self.worker.connector, progress=seen)

    def enrich(self, code: str = "CEL-001") -> None:
        """The seller completes in Ponte what the marketplace asks and Bling does not keep (its attributes)."""
        with self.db.write() as conn:
            values = {**catalog_edit.current(conn, account_id=self.account, sku=code), "attributes": {"MODEL": "X1"}}
            catalog_edit.save(conn, account_id=self.account, sku=code, values=values, actor="alice", reason="ficha")

    def poll(self) -> int:
        return erp_catalog.poll_catalogs(self.db, self.worker.connector, force=True)

    def drain(self) -> int:
        total = 0
        for _ in range(100):
            done = self.worker.run_once()
            total += done
            if not done:
                return total
        raise AssertionError("the worker never ran dry")

    def sku(self, code: str):
        with self.db.read() as conn:
            return conn.execute(select(skus).where(skus.c.sku == code)).one()

    def stock(self, code: str) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(stock.c.warehouse, stock.c.quantity)
                .join(skus, skus.c.id == stock.c.sku_id)
                .where(skus.c.sku == code)
            )
            return {r.warehouse: r.quantity for r in rows}

    def pending(self) -> set[tuple[str, str]]:
        with self.db.read() as conn:
            query = select(integrations.c.flow, integrations.c.entity).where(integrations.c.status == "pending")
            return {(r.flow, r.entity) for r in conn.execute(query)}

    def listing(self, code: str):
        return admin_get(self.sandbox, f"/magalu/_admin/items/{code}", seller=SELLER)


@pytest.fixture
def make_hub(db, settings, sandbox, bling, tmp_path):
    made = []

    def make(**erp_settings) -> CatalogHub:
        made.append(CatalogHub(db, settings, sandbox, bling, tmp_path, **erp_settings))
        return made[-1]

    yield make
    for hub in made:
        hub.worker.close()


def test_a_first_import_brings_the_products_with_their_balances_and_reaches_the_marketplace(make_hub, bling):
    bling.admin("products", company=COMPANY, products=[*CATALOG, *catalog_products(30)])
    hub = make_hub()
    seen = []
    done = hub.run_import(seen.append)
    assert not done.importing and done.taken_count == 34 and done.rejected == []
    assert seen and seen[-1].read_count == 34 and any(s.total for s in seen)  # the progress told as it went
    cel = hub.sku("CEL-001")
    assert (cel.name, cel.price, cel.ean, cel.weight_g) == ("Smartphone Acme X1 128 GB", Decimal("1999.90"),
                                                           "7891234567895", 350)  # fmt: skip
    assert hub.stock("CEL-001") == {f"bling:{DEPOSIT}": 12, f"bling:{SHOP_DEPOSIT}": 3}
    assert hub.sku("CAMISA-M").price == Decimal("94.90") and hub.stock("CAMISA-P") == {f"bling:{DEPOSIT}": 4}
    hub.enrich()
    hub.drain()
    listed = hub.listing("CEL-001")
    assert Decimal(str(listed["price"])) == Decimal("1999.90") and listed["quantity"] == 15


def test_a_price_changed_in_bling_reaches_the_marketplace_and_only_the_price_is_sent(make_hub, bling):
    bling.admin("products", company=COMPANY, products=CATALOG)
    hub = make_hub()
    hub.run_import()
    hub.enrich()
    hub.drain()
    assert ("price", "CEL-001") not in hub.pending()
    bling.advance(5)
    bling.admin("products/change", company=COMPANY, codigo="CEL-001", preco=1899.9)
    hub.poll()
    assert hub.pending() == {("price", "CEL-001")}  # exactly the integration the change concerns
    hub.drain()
    assert Decimal(str(hub.listing("CEL-001")["price"])) == Decimal("1899.90")


def test_blings_webhook_at_pontes_endpoint_marks_the_product_pending(make_hub, bling, db, settings):
    bling.admin("products", company=COMPANY, products=CATALOG)
    hub = make_hub()
    hub.run_import()
    hub.drain()
    assert ("inventory", "CAMISA-P") not in hub.pending()
    with serving(create_app(settings, db=db)) as ponte_url:
        bling.admin("webhooks", client_id=CLIENT_ID, url=f"{ponte_url}/notifications/bling")
        sent = bling.admin("products/change", company=COMPANY, codigo="CAMISA-P", saldos={str(DEPOSIT): 9})
        bling.admin("webhooks", client_id=CLIENT_ID, url="")
    assert sent["webhooks"] == [1]  # Ponte took it
    assert hub.worker.process_notifications() == 1
    assert hub.stock("CAMISA-P") == {f"bling:{DEPOSIT}": 9}
    assert ("inventory", "CAMISA-P") in hub.pending() and ("product", "CAMISA-P") not in hub.pending()


def test_where_both_changed_a_field_the_rule_decides_and_each_overwrite_is_audited(make_hub, bling):
    bling.admin("products", company=COMPANY, products=CATALOG)
    hub = make_hub(ponte_wins=["name"])
    hub.run_import()
    with hub.db.write() as conn:  # the seller edits the name and the price in Ponte
        values = {**catalog_edit.current(conn, account_id=hub.account, sku="CEL-001"), "name": "Acme X1 (Ponte)",
                  "price": "1949.90"}  # fmt: skip
        catalog_edit.save(conn, account_id=hub.account, sku="CEL-001", values=values, actor="alice", reason="promo")
    bling.advance(5)
    bling.admin("products/change", company=COMPANY, codigo="CEL-001", nome="Acme X1 (Bling)", preco=1899.9)
    hub.poll()
    cel = hub.sku("CEL-001")
    assert cel.name == "Acme X1 (Ponte)"  # Ponte wins the name
    assert cel.price == Decimal("1899.90")  # Bling wins the price (the default), and the overwrite is audited
    with hub.db.read() as conn:
        [entry] = list_entries(conn, account_id=hub.account, action="catalog.erp_overwrite")
    assert entry.actor == "erp:BLING" and entry.detail["fields"] == {"price": ["1949.90", "1899.9"]}
    bling.advance(5)
    bling.admin("products/change", company=COMPANY, codigo="CEL-001", descricaoCurta="Nova descrição")
    hub.poll()  # Bling changed only the description: the name typed in Ponte stays, nothing else overwritten
    assert hub.sku("CEL-001").name == "Acme X1 (Ponte)" and hub.sku("CEL-001").description == "Nova descrição"
    with hub.db.read() as conn:
        assert len(list_entries(conn, account_id=hub.account, action="catalog.erp_overwrite")) == 1


def test_a_rejected_product_is_reported_and_the_import_goes_on(make_hub, bling):
    bad = [
        {"codigo": "EAN-BAD", "nome": "EAN errado", "preco": 10, "gtin": "7891234567890"},
        {"codigo": "NO-PRICE", "nome": "Sem preço", "preco": 0},
    ]
    bling.admin("products", company=COMPANY, products=[*bad, *catalog_products(5)])
    hub = make_hub()
    done = hub.run_import()
    assert done.taken_count == 7  # the five, and the two products of the fixture
    reasons = {r["sku"]: r["reason"]["key"] for r in done.rejected}
    assert reasons == {"EAN-BAD": "msg.catalog.invalid", "NO-PRICE": "msg.catalog.no_price"}
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(skus).where(skus.c.sku == "EAN-BAD")).scalar() == 0
        assert catalog_read(conn, affiliate_id=hub.erp).rejected == done.rejected


def test_an_import_keeps_to_blings_three_requests_a_second(make_hub, bling):
    bling.admin("products", company=COMPANY, products=catalog_products(12))
    bling.admin("config", rate=3)
    hub = make_hub()
    done = hub.run_import()
    assert done.taken_count == 14
    assert bling.get("stats")["throttled"] == 0  # no 429 was seen


def test_the_deposits_that_count_for_a_marketplace_are_a_setting(make_hub, bling):
    bling.admin("products", company=COMPANY, products=CATALOG)
    hub = make_hub(deposits=[SHOP_DEPOSIT], marketplace_deposits={"MLB": [DEPOSIT]})
    hub.run_import()
    hub.enrich()
    hub.drain()
    assert hub.stock("CEL-001") == {f"bling:{DEPOSIT}": 12, f"bling:{SHOP_DEPOSIT}": 3}  # Bling's balances, all kept
    assert hub.listing("CEL-001")["quantity"] == 12  # what counts for MLB: its own deposit, not the shop's


def test_the_command_line_imports_with_a_progress_bar_and_reports_the_rejected(make_hub, bling, settings):
    from typer.testing import CliRunner

    from ponte.cli import app

    bling.admin("products", company=COMPANY, products=[{"codigo": "NO-PRICE", "nome": "Brinde", "preco": 0}])
    make_hub()
    args = ["catalog", "import-erp", "--affiliate", "bling", "--locale", "pt-BR"]
    args += ["--database-url", settings.database_url, "--data-dir", str(settings.data_dir)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output  # something was rejected
    assert "2 produtos importados de BLING; 1 rejeitados." in result.output
    assert "NO-PRICE: Sem preço no Bling" in result.output
    unknown = CliRunner().invoke(app, [*args[:3], "NOPE", *args[4:]], catch_exceptions=False)
    assert unknown.exit_code == 1 and "Não há afiliado NOPE nesta conta" in unknown.output


def test_the_page_starts_an_import_shows_its_progress_and_lists_the_rejected(make_hub, bling, db, settings):
    from fastapi.testclient import TestClient

    from factories import PASSWORD, login
    from ponte.auth import create_user
    from ponte.domain import Role

    bling.admin("products", company=COMPANY, products=[{"codigo": "NO-PRICE", "nome": "Brinde", "preco": 0}])
    hub = make_hub()
    with db.write() as conn:
        create_user(conn, account_id=hub.account, email="ana@loja-a.com.br", password=PASSWORD, role=Role.ADMIN)
    with TestClient(create_app(settings, db=db)) as client:
        login(client, "ana@loja-a.com.br")
        assert f"/affiliates/{hub.erp}/catalog" in client.get("/affiliates").text
        page = client.get(f"/affiliates/{hub.erp}/catalog?lang=pt-BR").text
        assert "O catálogo ainda não foi importado deste ERP." in page
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        client.post(f"/affiliates/{hub.erp}/catalog/import", data={"csrf": csrf})
        assert "Importando: 0 produtos lidos." in client.get(f"/affiliates/{hub.erp}/catalog?lang=pt-BR").text
        hub.bling.advance(2)
        while erp_catalog.poll_catalogs(hub.db, hub.worker.connector):  # the worker's job, page after page
            pass
        page = client.get(f"/affiliates/{hub.erp}/catalog?lang=es").text
        assert "2 productos importados, 1 rechazados" in page and "NO-PRICE" in page and "Sin precio en Bling" in page


def test_a_balance_changed_in_bling_without_a_webhook_is_read_by_the_poll(make_hub, bling):
    bling.admin("products", company=COMPANY, products=CATALOG)
    hub = make_hub()
    hub.run_import()
    hub.drain()
    bling.admin("products/change", company=COMPANY, codigo="CEL-001", saldos={str(SHOP_DEPOSIT): 0})
    hub.poll()
    assert hub.stock("CEL-001") == {f"bling:{DEPOSIT}": 12, f"bling:{SHOP_DEPOSIT}": 0}
    assert ("inventory", "CEL-001") in hub.pending() and ("price", "CEL-001") not in hub.pending()
