"""Integration routes: the list with the screen's filters and cursors, details, counts, causes, reprocess."""

from __future__ import annotations

from sqlalchemy import select

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import integration_id
from ponte.store.tables import audit_log, integrations


def _all_pages(client, headers, **params):
    seen, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/integrations", params=query, headers=headers).json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return seen


def test_it_pages_through_every_integration_once(client, world):
    rows = _all_pages(client, world.auth("victor"), limit=7)
    assert len(rows) == 30 and len({r["id"] for r in rows}) == 30


def test_it_filters_by_flow_status_and_affiliate(client, world):
    rows = _all_pages(client, world.auth("victor"), flow="product", status="error", affiliate="mlb")
    assert rows and all(r["flow"] == "product" and r["status"] == "error" and r["affiliate"] == "MLB" for r in rows)


def test_it_searches_by_entity_prefix_and_message_words(client, world):
    rows = _all_pages(client, world.auth("victor"), search="TEN-00", words="GTIN")
    assert rows and all(r["entity"].startswith("TEN-00") and "GTIN" in r["message"] for r in rows)


def test_it_refuses_a_huge_page_size_and_a_bad_cursor_and_a_bad_date(client, world):
    headers = world.auth("victor")
    assert client.get("/api/v1/integrations", params={"limit": 100000}, headers=headers).json()["field"] == "limit"
    bad = client.get("/api/v1/integrations", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    date = client.get("/api/v1/integrations", params={"date_from": "2026-13-45"}, headers=headers)
    assert date.status_code == 422 and date.json()["field"] == "date_from"
    assert client.get("/api/v1/integrations", params={"status": "broken"}, headers=headers).status_code == 422


def test_it_shows_one_integration_with_its_attempts(client, world, db):
    with db.read() as conn:
        ident = integration_id(conn, world.a, "product", "TEN-001")
    body = client.get(f"/api/v1/integrations/{ident}", headers=world.auth("victor")).json()
    assert body["integration"]["entity"] == "TEN-001"
    assert len(body["attempts"]) == body["integration"]["attempt_count"] and body["attempts"][0]["request"]


def test_it_counts_by_status_and_groups_causes(client, world):
    counts = client.get("/api/v1/integrations/counts", params={"flow": "order"}, headers=world.auth("victor")).json()
    assert counts["total"] == 6 and counts["by_status"]["error"] == 2
    causes = client.get("/api/v1/integrations/causes", headers=world.auth("victor")).json()
    assert sum(c["count"] for c in causes) == 10
    summary = client.get("/api/v1/summary", headers=world.auth("victor")).json()
    assert sum(line["count"] for line in summary["lines"]) == 30


def test_it_reprocesses_one_integration_and_writes_the_audit_log(client, world, db):
    with db.read() as conn:
        ident = integration_id(conn, world.a, "product", "TEN-001")
    r = client.post(f"/api/v1/integrations/{ident}/reprocess", headers=world.auth("alice"))
    assert r.json() == {"queued": 1, "dry_run": False}
    again = client.post(f"/api/v1/integrations/{ident}/reprocess", headers=world.auth("alice"))
    assert again.json()["queued"] == 0
    with db.read() as conn:
        status = conn.execute(select(integrations.c.status).where(integrations.c.id == ident)).scalar_one()
        actors = list(conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "reprocess")).scalars())
    assert status == "pending" and "token:alice" in actors


def test_it_counts_a_filter_reprocess_on_a_dry_run_without_queueing(client, world, db):
    body = {"filter": {"flow": "product"}, "dry_run": True}
    r = client.post("/api/v1/integrations/reprocess", json=body, headers=world.auth("alice"))
    assert r.json() == {"queued": 2, "dry_run": True}
    with db.read() as conn:
        pending = conn.execute(
            select(integrations.c.id).where(
                integrations.c.flow == "product",
                integrations.c.status == "pending",
                integrations.c.account_id == world.a.account_id,
            )
        ).all()
    assert len(pending) == 1  # the factory's one pending row, nothing more
    done = client.post(
        "/api/v1/integrations/reprocess", json={"filter": {"flow": "product"}}, headers=world.auth("alice")
    )
    assert done.json()["queued"] == 2


def test_it_reprocesses_a_list_of_ids_and_ignores_another_stores_ids(client, world, db):
    with db.read() as conn:
        mine = integration_id(conn, world.a, "price", "TEN-001")
        theirs = integration_id(conn, world.b, "price", "TEN-001")
    r = client.post("/api/v1/integrations/reprocess", json={"ids": [mine, theirs]}, headers=world.auth("alice"))
    assert r.json()["queued"] == 1
    with db.read() as conn:
        status = conn.execute(select(integrations.c.status).where(integrations.c.id == theirs)).scalar_one()
    assert status != "pending"


def test_it_needs_ids_or_a_filter_to_reprocess(client, world):
    r = client.post("/api/v1/integrations/reprocess", json={}, headers=world.auth("alice"))
    assert r.status_code == 422
    r = client.post("/api/v1/integrations/reprocess", json={"ids": [1], "filter": {}}, headers=world.auth("alice"))
    assert r.status_code == 422


def test_it_forbids_a_viewer_to_reprocess(client, world, db):
    with db.read() as conn:
        ident = integration_id(conn, world.a, "product", "TEN-001")
    assert client.post(f"/api/v1/integrations/{ident}/reprocess", headers=world.auth("victor")).status_code == 403
