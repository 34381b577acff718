"""No dead ends: the order page and the integration history link to each integration's attempts, explain its
error and offer reprocess; the SKU page reprocesses the SKU; the Rules page is in the navigation for operators
and offered nowhere to viewers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from factories import ALICE, VICTOR, integration_id, login, two_stores
from ponte.app import create_app


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_the_order_and_its_history_link_explain_and_reprocess(client, db, stores):
    a, _ = stores
    with db.read() as conn:
        failed = integration_id(conn, a, "order", "1400-01")
    login(client, ALICE)
    for url in ("/orders/1400-01?lang=pt-BR", "/orders/1400-01/history?lang=pt-BR"):
        page = client.get(url).text
        item = page.split(f'id="integration-{failed}"')[1].split("</li>")[0]
        assert f'href="/integrations/{failed}"' in item and "Ver tentativas (2)" in item, url
        assert f'action="/integrations/{failed}/reprocess"' in item
        assert "O que fazer" in item and "/help/sla_unavailable" in item
    history = client.get("/orders/1400-01/history").text
    assert history.count("Abrir integração") >= 2


def test_the_sku_page_reprocesses_the_sku(client, db, stores):
    csrf = login(client, ALICE)
    page = client.get("/skus/TEN-001?lang=pt-BR").text
    assert 'id="reprocess-sku"' in page and "Reprocessar SKU" in page
    answer = client.post("/skus/TEN-001/reprocess", data={"csrf": csrf})
    assert answer.status_code == 200 and answer.url.path == "/skus/TEN-001"
    assert re.search(r"\d+ integraç(ão|ões) enviada", answer.text)
    assert answer.text.count("status-pending") >= 3  # product, price and stock on MLB queued again


def test_viewers_are_not_offered_reprocess_or_rules(client, stores):
    login(client, VICTOR)
    for url in ("/orders/1400-01", "/orders/1400-01/history", "/skus/TEN-001", "/causes", "/connections/order"):
        page = client.get(url).text
        assert 'href="/rules' not in page and "/reprocess" not in page, url
    login_page = client.get("/overview").text
    assert 'href="/rules"' not in login_page
    client.cookies.clear()
    login(client, ALICE)
    assert 'href="/rules"' in client.get("/overview").text


def test_a_rule_is_written_as_words_and_shows_what_it_matches(client, db, stores):
    csrf = login(client, ALICE)
    teach = client.get("/connections/product?status=error&expand=all&lang=pt-BR").text
    assert "/rules?words=" in teach
    page = client.get("/rules", params={"words": "SEM GTIN is not a valid EAN", "flow": "product"}).text
    assert 'value="SEM GTIN is not a valid EAN"' in page
    saved = client.post(
        "/rules",
        data={"csrf": csrf, "words": "SEM GTIN is not a valid EAN", "category": "invalid_gtin", "flow": "product"},
    )
    assert saved.status_code == 200
    assert "Mensagens que contêm “SEM GTIN is not a valid EAN”" in saved.text
    assert "Corresponde a 1 erro agora" in saved.text
    client.post("/rules", data={"csrf": csrf, "words": "erro 42 no lote (A)", "category": "integration_config"})
    assert "Mensagens que contêm “erro # no lote (A)”" in client.get("/rules").text
