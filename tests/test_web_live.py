"""Live means live: the live refresh sends the rows that changed, the status counts and tab badges when they
moved, and how many new rows now come before the page's first one; nothing when nothing changed."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from factories import ALICE, add_integration, complete, integration_id, login, two_stores
from ponte.app import create_app


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def _live_query(page: str) -> str:
    known = ",".join(f"{i}.{s}" for i, s in re.findall(r'id="row-(\d+)"[^>]*data-stamp="([0-9a-f]+)"', page))
    digest = re.search(r'data-counts="([0-9a-f]*)"', page)
    assert known and digest and digest.group(1)
    return f"/connections/product/live?status=error&s={known}&c={digest.group(1)}"


def test_it_sends_new_counts_badges_and_new_rows_and_nothing_when_nothing_changed(client, db, stores):
    a, _ = stores
    login(client, ALICE)
    page = client.get("/connections/product?status=error&lang=pt-BR").text
    assert "Processado com erro <b>2</b>" in page
    query = _live_query(page)
    assert client.get(query).status_code == 204
    with db.write() as conn:
        complete(conn, a.account_id, integration_id(conn, a, "product", "TEN-001"))
    answer = client.get(query)
    assert answer.status_code == 200
    counts = answer.text.split('id="counts"')[1].split("</div>")[0]
    assert "Processado com erro <b>1</b>" in counts and "Processado com sucesso <b>4</b>" in counts
    assert 'href="/connections/product?status=error"' in counts  # the page's links, not the live URL's
    tabs = answer.text.split('id="tabs"')[1].split("</nav>")[0]
    assert re.search(r"Produtos <span class=\"badge\"[^>]*><span aria-hidden=\"true\">✕</span> 1<", tabs)
    assert "new-rows-link" not in answer.text
    with db.write() as conn:
        add_integration(
            conn,
            a.account_id,
            flow="product",
            affiliate_id=a.affiliates["MLB"],
            entity="NEW-001",
            status="error",
            message="SEM GTIN is not a valid EAN",
            category="invalid_gtin",
            disposition="fix",
        )
    fresh = client.get(query).text
    assert "1 linha nova: mostrar" in fresh
    assert 'id="row-' in fresh  # TEN-001 still reported as changed against the old stamps
