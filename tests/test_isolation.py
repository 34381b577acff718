"""Three personas against every route: alice (operator, store A), victor (viewer, store A), bob (admin, store B).

Roles are enforced on every route; store B never sees, counts, exports, reprocesses or guesses store A's data:
A's ids answer 404 to bob, never 403.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import integration_id
from ponte.store.tables import api_tokens, integrations

RANK = {"viewer": 0, "operator": 1, "admin": 2}
PERSONA_ROLE = {"alice": "operator", "victor": "viewer", "bob": "admin"}

# (method, path, json body, role needed). {aff}, {integ} and {token} are store A's ids; TEN-005 and order
# 1404-01 exist in store A only.
ROUTES = [
    ("GET", "/api/v1/affiliates/{aff}", None, "viewer"),
    ("PATCH", "/api/v1/affiliates/{aff}", {"name": "Renamed"}, "admin"),
    ("POST", "/api/v1/affiliates/{aff}/webhook-secret", None, "admin"),
    ("POST", "/api/v1/affiliates/{aff}/test", None, "operator"),
    ("GET", "/api/v1/skus/TEN-005", None, "viewer"),
    ("POST", "/api/v1/prices", {"sku": "TEN-005", "list_price": "10", "price": "9"}, "operator"),
    ("POST", "/api/v1/stock", {"sku": "TEN-005", "quantity": 1}, "operator"),
    ("GET", "/api/v1/orders/1404-01", None, "viewer"),
    ("GET", "/api/v1/integrations/{integ}", None, "viewer"),
    ("POST", "/api/v1/integrations/{integ}/reprocess", None, "operator"),
    ("DELETE", "/api/v1/tokens/{token}", None, "admin"),
]

# Routes on the caller's own account: allowed by role, never about another store's ids.
OWN_ROUTES = [
    ("GET", "/api/v1/affiliates", None, "viewer"),
    ("POST", "/api/v1/affiliates", {"code": "NEW", "name": "New", "connector": "nope"}, "admin"),
    ("POST", "/api/v1/skus", {"sku": "OWN-1", "name": "Own"}, "operator"),
    ("POST", "/api/v1/skus/bulk", [{"sku": "OWN-2", "name": "Own"}], "operator"),
    ("POST", "/api/v1/prices/bulk", [{"sku": "TEN-001", "list_price": "10", "price": "9"}], "operator"),
    ("POST", "/api/v1/stock/bulk", [{"sku": "TEN-001", "quantity": 1}], "operator"),
    (
        "PUT",
        "/api/v1/orders/1400-01/tracking",
        {"invoice_key": "1" * 44, "carrier": "C", "tracking_number": "T"},
        "operator",
    ),
    ("GET", "/api/v1/integrations", None, "viewer"),
    ("GET", "/api/v1/integrations/counts", None, "viewer"),
    ("GET", "/api/v1/integrations/causes", None, "viewer"),
    ("GET", "/api/v1/integrations/export?format=csv", None, "viewer"),
    ("POST", "/api/v1/integrations/reprocess", {"filter": {"flow": "price"}, "dry_run": True}, "operator"),
    ("GET", "/api/v1/summary", None, "viewer"),
    ("POST", "/api/v1/explain", {"message": "SEM GTIN is not a valid EAN"}, "viewer"),
    ("GET", "/api/v1/tokens", None, "admin"),
    ("POST", "/api/v1/tokens", {"name": "x"}, "admin"),
    ("GET", "/api/v1/audit", None, "admin"),
    ("GET", "/api/v1/rules", None, "viewer"),
    ("POST", "/api/v1/rules", {"pattern": "sem estoque no cd", "category": "out_of_stock"}, "operator"),
]


@pytest.fixture
def ids(world, db) -> dict[str, int]:
    with db.read() as conn:
        token = conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == "victor")).scalar_one()
        return {
            "aff": world.a.affiliates["MLB"],
            "integ": integration_id(conn, world.a, "product", "TEN-005"),
            "token": token,
        }


def _call(client, world, persona, method, path, body):
    return client.request(method, path, json=body, headers=world.auth(persona))


@pytest.mark.parametrize("persona", ["alice", "victor", "bob"])
@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_it_enforces_roles_and_hides_another_stores_ids(client, world, ids, persona, method, path, body, needed):
    r = _call(client, world, persona, method, path.format(**ids), body)
    if RANK[PERSONA_ROLE[persona]] < RANK[needed]:
        assert r.status_code == 403, r.text
    elif persona == "bob":
        assert r.status_code == 404, r.text
    else:
        assert r.status_code < 300, r.text


@pytest.mark.parametrize("persona", ["alice", "victor", "bob"])
@pytest.mark.parametrize(
    ("method", "path", "body", "needed"), OWN_ROUTES, ids=[f"{m} {p}" for m, p, _, _ in OWN_ROUTES]
)
def test_it_enforces_roles_on_the_callers_own_data(client, world, persona, method, path, body, needed):
    r = _call(client, world, persona, method, path, body)
    if RANK[PERSONA_ROLE[persona]] < RANK[needed]:
        assert r.status_code == 403, r.text
    else:
        assert r.status_code not in (401, 403) and r.status_code < 500, r.text


def test_lists_searches_counts_and_causes_stay_in_the_callers_store(client, world):
    bob = world.auth("bob")
    assert client.get("/api/v1/integrations", params={"search": "TEN-005"}, headers=bob).json()["items"] == []
    assert client.get("/api/v1/integrations/counts", headers=bob).json()["total"] == 10
    assert sum(c["count"] for c in client.get("/api/v1/integrations/causes", headers=bob).json()) == 5
    rows = client.get("/api/v1/integrations", params={"limit": 500}, headers=bob).json()["items"]
    assert len(rows) == 10
    assert {a["code"] for a in client.get("/api/v1/affiliates", headers=bob).json()} == {"MLB", "AMZ", "B2W", "BLING"}
    assert all(a["id"] not in world.a.affiliates.values() for a in client.get("/api/v1/affiliates", headers=bob).json())


def test_an_export_holds_only_the_callers_store(client, world):
    r = client.get("/api/v1/integrations/export", params={"format": "csv", "locale": "en"}, headers=world.auth("bob"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(lines) == 11 and "TEN-005" not in r.text


def test_a_bulk_reprocess_by_filter_never_touches_another_store(client, world, db):
    client.post(
        "/api/v1/integrations/reprocess",
        json={"filter": {"statuses": ["error", "success", "warning"]}},
        headers={**world.auth("bob")},
    )
    with db.read() as conn:
        touched = conn.execute(
            select(integrations.c.id).where(
                integrations.c.account_id == world.a.account_id, integrations.c.next_actor == "token:bob"
            )
        ).all()
    assert touched == []


def test_the_audit_log_shows_only_the_callers_store(client, world):
    client.post(f"/api/v1/affiliates/{world.a.affiliates['MLB']}/webhook-secret", headers=world.auth("ada"))
    assert all(e["actor"] != "token:ada" for e in client.get("/api/v1/audit", headers=world.auth("bob")).json())
    assert any(e["actor"] == "token:ada" for e in client.get("/api/v1/audit", headers=world.auth("ada")).json())
