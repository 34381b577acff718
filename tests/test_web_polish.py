"""What an operator reads on the pages: money, labels, counts in sentences, incident facts, connector settings."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from factories import ADA, ALICE, add_order, login, two_stores
from ponte.app import create_app
from ponte.i18n import Translator
from ponte.store.tables import alert_incidents, alert_rules, orders, skus


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_it_writes_money_the_way_each_language_does():
    tz = ZoneInfo("America/Sao_Paulo")
    # CLDR's forms (Babel): a no-break space after R$ in pt-BR, none in English.
    assert Translator("pt-BR", tz).money("151450") == "R$\xa0151.450,00"
    assert Translator("pt-BR", tz).money(246.9) == "R$\xa0246,90"
    assert Translator("en", tz).money("151450") == "R$151,450.00"
    assert Translator("en", tz).money(None) == "—"
    assert Translator("pt-BR", tz).decimal(26.0) == "26,0"


def test_it_shows_order_and_sku_amounts_as_money(client, db, stores):
    a, _ = stores
    with db.write() as conn:
        add_order(conn, a.account_id, a.affiliates["MLB"], "BIG-1")
        conn.execute(
            update(orders)
            .where(orders.c.external_id == "BIG-1")
            .values(total=151450, items=[{"sku": "TEN-001", "quantity": 2, "price": 246.9}])
        )
        conn.execute(update(skus).where(skus.c.sku == "TEN-001").values(price=1299.9, list_price=1499))
    login(client, ALICE)
    listing = client.get("/orders?lang=pt-BR").text
    assert "R$\xa0151.450,00" in listing and "151450,00" not in listing
    order = client.get("/orders/BIG-1").text
    assert "R$\xa0151.450,00" in order and "R$\xa0246,90" in order and "246.9<" not in order
    sku = client.get("/skus/TEN-001?lang=en").text
    assert "R$1,299.90" in sku and "R$1,499.00" in sku
    sku = client.get("/skus/TEN-001?lang=es").text
    assert "1.299,90\xa0BRL" in sku, "money in Spanish"
    assert "Precio de venta" in sku


def test_it_names_the_search_box_after_what_the_tab_lists(client, stores):
    login(client, ALICE)
    assert ">ID do pedido</label>" in client.get("/connections/order?lang=pt-BR").text
    assert ">Código do SKU</label>" in client.get("/connections/price").text
    assert ">SKU code</label>" in client.get("/connections/inventory?lang=en").text
    assert ">Order ID</label>" in client.get("/orders").text
    assert ">Order ID or SKU</label>" in client.get("/causes").text


def test_it_says_how_many_rows_were_queued_in_a_plain_sentence(client, stores):
    csrf = login(client, ALICE)
    page = client.get("/connections/product?status=error&lang=pt-BR").text
    first = page.split('name="ids" value="')[1].split('"')[0]
    one = client.post("/connections/product/reprocess-selected", data={"csrf": csrf, "ids": [first]})
    assert "1 integração enviada para reprocessamento." in one.text and "(ões)" not in one.text
    again = client.post("/connections/product/reprocess-selected", data={"csrf": csrf, "ids": [first]})
    assert "Nenhuma integração enviada" in again.text


def test_it_reads_incident_facts_as_a_sentence(client, db, stores):
    a, _ = stores
    when = datetime.now(UTC)
    with db.write() as conn:
        rule = conn.execute(
            insert(alert_rules)
            .values(account_id=a.account_id, kind="error_rate", threshold=20, created_at=when, updated_at=when)
            .returning(alert_rules.c.id)
        ).scalar_one()
        conn.execute(
            insert(alert_incidents).values(
                account_id=a.account_id,
                rule_id=rule,
                key=f"{rule}:price:MLB",
                kind="error_rate",
                flow="price",
                affiliate_id=a.affiliates["MLB"],
                status="open",
                opened_at=when,
                last_seen_at=when,
                facts={"attempts": 1300, "errors": 78, "rate": 26.0, "window": 30, "threshold": 20.0},
            )
        )
    login(client, ALICE)
    pt = client.get("/alerts?lang=pt-BR").text
    assert "1.300 tentativas · 78 erros · taxa de erro 26,0% · janela de 30 min · limite 20,0%" in pt
    en = client.get("/alerts?lang=en").text
    assert "1,300 attempts · 78 errors · error rate 26.0% · 30 min window · limit 20.0%" in en


def test_it_labels_connector_settings_for_people(client, stores):
    login(client, ADA)
    page = client.get("/affiliates?lang=en").text
    assert "API base URL" in page and "Client secret" in page and "Signing secret" in page
    assert ">client_secret" not in page and ">base_url" not in page
