"""The API's edges: Bearer tokens, roles, problem+json errors, body limits and the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from ponte.clock import now
from ponte.store.tables import api_tokens


def test_it_refuses_a_request_without_a_token(client, world):
    r = client.get("/api/v1/integrations")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "token" in r.json()["detail"]


def test_it_refuses_an_unknown_token(client, world):
    r = client.get("/api/v1/integrations", headers={"Authorization": "Bearer pt_not-a-real-token"})
    assert r.status_code == 401


def test_it_refuses_a_revoked_token(client, world, db):
    with db.write() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.name == "alice").values(revoked_at=now()))
    assert client.get("/api/v1/integrations", headers=world.auth("alice")).status_code == 401


def test_it_records_token_use_at_most_once_a_minute(client, world, db):
    client.get("/api/v1/summary", headers=world.auth("victor"))
    with db.read() as conn:
        first = conn.execute(select(api_tokens.c.last_used_at).where(api_tokens.c.name == "victor")).scalar_one()
    client.get("/api/v1/summary", headers=world.auth("victor"))
    with db.read() as conn:
        second = conn.execute(select(api_tokens.c.last_used_at).where(api_tokens.c.name == "victor")).scalar_one()
    assert first is not None and second == first
    with db.write() as conn:
        old = now() - timedelta(minutes=5)
        conn.execute(update(api_tokens).where(api_tokens.c.name == "victor").values(last_used_at=old))
    client.get("/api/v1/summary", headers=world.auth("victor"))
    with db.read() as conn:
        third = conn.execute(select(api_tokens.c.last_used_at).where(api_tokens.c.name == "victor")).scalar_one()
    assert third > old + timedelta(minutes=4)


def test_it_forbids_a_viewer_to_write(client, world):
    r = client.post("/api/v1/stock", json={"sku": "TEN-001", "quantity": 3}, headers=world.auth("victor"))
    assert r.status_code == 403
    assert r.json()["detail"] == "isto exige o perfil operador; o token tem o perfil leitura"  # pt-BR unless asked
    headers = {**world.auth("victor"), "Accept-Language": "en"}
    english = client.post("/api/v1/stock", json={"sku": "TEN-001", "quantity": 3}, headers=headers)
    assert english.json()["detail"] == "this needs the operator role; the token has viewer"


def test_it_names_the_offending_field_of_a_wrong_type(client, world):
    r = client.post("/api/v1/stock", json={"sku": "TEN-001", "quantity": "many"}, headers=world.auth("alice"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "quantity"


def test_it_refuses_unknown_fields(client, world):
    r = client.post("/api/v1/stock", json={"sku": "TEN-001", "quantity": 1, "qty": 2}, headers=world.auth("alice"))
    assert r.status_code == 422
    assert r.json()["field"] == "qty"
    assert "unknown field" in r.json()["detail"]


def test_it_refuses_a_missing_field(client, world):
    r = client.post("/api/v1/prices", json={"sku": "TEN-001", "price": "10.00"}, headers=world.auth("alice"))
    assert r.status_code == 422
    assert r.json()["field"] == "list_price"


def test_it_refuses_a_body_that_is_not_json(client, world):
    r = client.post(
        "/api/v1/stock", content=b"{not json", headers={**world.auth("alice"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


def test_it_refuses_an_oversize_body_before_reading_it(client, world, settings):
    big = b"[" + b" " * settings.request_limit + b"]"
    r = client.post(
        "/api/v1/skus/bulk", content=big, headers={**world.auth("alice"), "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


def test_it_refuses_an_oversize_streamed_body(client, world, settings):
    def chunks():
        for _ in range(settings.request_limit // 65536 + 2):
            yield b" " * 65536

    r = client.post(
        "/api/v1/skus/bulk", content=chunks(), headers={**world.auth("alice"), "Content-Type": "application/json"}
    )
    assert r.status_code == 413


def test_it_answers_unknown_api_paths_with_a_problem(client, world):
    r = client.get("/api/v1/nothing-here", headers=world.auth("alice"))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_it_serves_the_openapi_document_and_the_docs(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/integrations" in doc["paths"]
    assert client.get("/api/docs").status_code == 200


def test_every_api_route_requires_a_role(client):
    from ponte.api.deps import authenticate

    for route in client.app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/webhooks/") or path == "/api/v1/openapi.json":
            continue
        calls = {d.call for d in _walk(route.dependant)}
        assert authenticate in calls, f"{path} has no role check"


def _walk(dependant):
    for dep in dependant.dependencies:
        yield dep
        yield from _walk(dep)
