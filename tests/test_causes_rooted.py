"""Causes that help: follow-on errors (price and stock not sent because the product is not listed) are counted
under their product's cause, the normalised message hides behind a detail, the list pages, flow links keep the
affiliate filter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from factories import ALICE, add_integration, login, two_stores
from ponte.app import create_app
from ponte.services.causes import rooted_causes
from ponte.services.connections import list_causes
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations

ROOT = "item.category.invalid: category MLB1000 is not a leaf category"


def _error(conn, store, flow, sku, message, category, code=None):
    iid = add_integration(
        conn,
        store.account_id,
        flow=flow,
        affiliate_id=store.affiliates["MLB"],
        entity=sku,
        status="error",
        message=message,
        category=category,
        disposition="fix",
    )
    if code:
        conn.execute(update(integrations).where(integrations.c.id == iid).values(code=code))


@pytest.fixture
def stores(db):
    with db.write() as conn:
        a, b = two_stores(conn)
        for sku in ("NEW-1", "NEW-2"):
            _error(conn, a, "product", sku, ROOT, "invalid_category")
            for flow in ("price", "inventory"):
                follow = (
                    f"Not sent: MLB has not listed this product yet. Fix the product's error. Product error: {ROOT}"
                )
                _error(conn, a, flow, sku, follow, "sku_not_linked", code="product_not_listed")
    return a, b


def test_it_counts_follow_on_errors_under_the_products_cause(db, stores):
    a, _ = stores
    with db.read() as conn:
        causes = list_causes(conn, account_id=a.account_id, filter=IntegrationFilter())
        assert any(c.category == "sku_not_linked" for c in causes)  # grouped apart before rooting
        rooted = rooted_causes(conn, account_id=a.account_id, filter=IntegrationFilter(), causes=causes)
    assert not any(r.cause.category == "sku_not_linked" for r in rooted)
    root = next(r for r in rooted if r.cause.category == "invalid_category")
    assert (root.cause.count, root.follow_ons, set(root.follow_on_flows)) == (2, 4, {"price", "inventory"})
    assert rooted[0] is root  # 6 errors in all: the largest cause


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_the_causes_page_shows_follow_ons_keeps_the_affiliate_and_pages(client, db, stores):
    a, _ = stores
    login(client, ALICE)
    page = client.get("/causes?affiliate=MLB&lang=pt-BR").text
    assert "Mais 4 erros que vêm deste" in page
    assert 'href="/connections/price?status=error&amp;affiliate=MLB"' in page
    assert '<details class="pattern"><summary class="small">Mensagem normalizada</summary>' in page
    assert "Página 1 de" not in page  # one page only
    with db.write() as conn:
        for n in range(25):
            _error(conn, a, "product", f"MANY-{n}", f"Atributo exclusivo {'x' * n} ausente", "missing_attribute")
    first = client.get("/causes?lang=en").text
    assert "Page 1 of 2" in first and 'id="causes-next"' in first
    second = client.get("/causes?page=2&lang=en").text
    assert "Page 2 of 2" in second and second.count('class="card cause"') == (7 + 25 + 1) - 20
