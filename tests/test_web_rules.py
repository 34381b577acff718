"""The account rules page: operators teach Ponte an unknown message and the error is re-classified at once;
viewers are neither offered the page nor let in; rules never cross stores."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import ALICE, BOB, VICTOR, add_integration, login, two_stores
from ponte.app import create_app
from ponte.knowledge.text import fold, fold_pattern
from ponte.knowledge.user_patterns import compile_pattern
from ponte.store.tables import integrations
from ponte.web.patterns import suggest_pattern

ODD = "Erro 7781 no processamento do anúncio (lote 12): consulte o suporte"


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db)) as test_client:
        yield test_client


@pytest.fixture
def stores(db):
    with db.write() as conn:
        a, b = two_stores(conn)
        add_integration(
            conn,
            a.account_id,
            flow="product",
            affiliate_id=next(iter(a.affiliates.values())),
            entity="ODD-1",
            status="error",
            message=ODD,
            category="unmapped",
        )
    return a, b


def test_the_suggested_pattern_matches_the_same_message_with_other_numbers():
    pattern = suggest_pattern(ODD)
    assert re.search(pattern, ODD.replace("7781", "15").replace("12", "3"))
    assert not re.search(pattern, "Outro erro qualquer")
    assert compile_pattern(fold_pattern(pattern)).search(fold(ODD.replace("7781", "15")))  # and RE2 runs it too


def test_an_operator_teaches_a_message_and_the_error_is_reclassified(client, db, stores):
    csrf = login(client, ALICE)
    page = client.get("/rules", params={"pattern": suggest_pattern(ODD), "flow": "product"})
    assert page.status_code == 200 and "Nova regra" in page.text
    saved = client.post(
        "/rules",
        data={"csrf": csrf, "pattern": suggest_pattern(ODD), "category": "integration_config", "flow": "product"},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "1 erro reclassificado" in saved.text
    with db.read() as conn:
        category = conn.execute(select(integrations.c.category).where(integrations.c.entity == "ODD-1")).scalar_one()
    assert category == "integration_config"


def test_a_bad_pattern_is_refused_on_the_page_and_saves_nothing(client, stores):
    csrf = login(client, ALICE)
    r = client.post("/rules", data={"csrf": csrf, "pattern": "(unclosed", "category": "out_of_stock", "flow": ""})
    assert r.status_code == 400 and "regular expression" in r.text
    assert 'value="(unclosed"' in r.text  # what was typed stays in the form to be corrected
    assert "Nenhuma regra ainda" in client.get("/rules").text  # and nothing was saved


def test_viewers_cannot_open_or_add_rules_and_other_stores_see_nothing(client, stores):
    csrf = login(client, VICTOR)
    assert 'href="/rules"' not in client.get("/overview").text  # not offered in the navigation
    opened = client.get("/rules")
    assert opened.status_code == 403 and "Seu perfil não permite esta ação." in opened.text
    assert "Nova regra" not in opened.text and "Nenhuma regra ainda" not in opened.text
    refused = client.post("/rules", data={"csrf": csrf, "pattern": "x y", "category": "out_of_stock"})
    assert refused.status_code == 403
    client.cookies.clear()
    login(client, ALICE)
    csrf = login(client, ALICE)
    client.post("/rules", data={"csrf": csrf, "pattern": "sem estoque no cd", "category": "out_of_stock"})
    assert "sem estoque no cd" in client.get("/rules").text
    client.cookies.clear()
    login(client, BOB)  # an admin of store B: the page opens, without store A's rule
    bobs = client.get("/rules")
    assert bobs.status_code == 200 and "sem estoque no cd" not in bobs.text
