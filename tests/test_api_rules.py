"""The account's own error rules through the API: operators add them, errors are re-classified at once,
viewers only read, and another store never sees or removes them."""

from __future__ import annotations

from sqlalchemy import select

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import add_integration
from ponte.store.tables import integrations

ODD = "Erro 7781 no processamento do anúncio: consulte o suporte"


def test_an_operator_adds_a_rule_and_the_unmapped_error_is_reclassified(client, world, db):
    with db.write() as conn:
        add_integration(
            conn,
            world.a.account_id,
            flow="product",
            affiliate_id=next(iter(world.a.affiliates.values())),
            entity="ODD-1",
            status="error",
            message=ODD,
            category="unmapped",
        )
    body = {"pattern": r"erro \d+ no processamento", "category": "integration_config", "flow": "product"}
    made = client.post("/api/v1/rules", json=body, headers=world.auth("alice"))
    assert made.status_code == 201, made.text
    assert made.json()["reclassified"] == 1 and made.json()["created_by"]
    with db.read() as conn:
        category = conn.execute(select(integrations.c.category).where(integrations.c.entity == "ODD-1")).scalar_one()
    assert category == "integration_config"
    listed = client.get("/api/v1/rules", headers=world.auth("victor")).json()
    assert [r["pattern"] for r in listed] == [body["pattern"]]
    assert client.get("/api/v1/rules", headers=world.auth("bob")).json() == []


def test_viewers_cannot_add_rules_and_other_stores_cannot_remove_them(client, world):
    body = {"pattern": "sem estoque no cd", "category": "out_of_stock"}
    assert client.post("/api/v1/rules", json=body, headers=world.auth("victor")).status_code == 403
    rule_id = client.post("/api/v1/rules", json=body, headers=world.auth("alice")).json()["id"]
    assert client.delete(f"/api/v1/rules/{rule_id}", headers=world.auth("bob")).status_code == 404
    assert client.delete(f"/api/v1/rules/{rule_id}", headers=world.auth("alice")).status_code == 204


def test_a_bad_rule_is_a_problem_naming_the_field(client, world):
    r = client.post(
        "/api/v1/rules", json={"pattern": "(unclosed", "category": "out_of_stock"}, headers=world.auth("alice")
    )
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"
    assert "pattern" in str(r.json())
