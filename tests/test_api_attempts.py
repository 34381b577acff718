"""External attempt reports: recorded once per Idempotency-Key, shown like Ponte's own, per-item results."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select, update

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import integration_id, run_together
from ponte.clock import now
from ponte.store.tables import attempt_bodies, attempts, integrations


def _item(**values):
    item = {
        "flow": "order",
        "affiliate": "BLING",
        "entity": "1400-01",
        "status": "error",
        "message": "Os skus não possuem estoque suficiente para integrar o pedido",
        "code": "E-STOCK",
        "system": "Bling ERP",
        "occurred_at": now().isoformat(),
        "request": {"pedido": "1400-01"},
        "response": {"erro": "sem estoque"},
    }
    return {**item, **values}


def _post(client, world, items, key=None, persona="alice"):
    headers = {**world.auth(persona), "Idempotency-Key": key or uuid.uuid4().hex}
    return client.post("/api/v1/attempts", json={"attempts": items}, headers=headers)


def _external_count(db) -> int:
    with db.read() as conn:
        return conn.execute(
            select(func.count()).select_from(attempts).where(attempts.c.trigger == "external")
        ).scalar_one()


def test_it_records_a_batch_and_shows_it_in_connections(client, world, db):
    r = _post(
        client,
        world,
        [_item(), _item(entity="NEW-77", flow="product", affiliate="mlb", status="success", message="OK")],
    )
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] == 2
    rows = client.get("/api/v1/integrations", params={"search": "NEW-77"}, headers=world.auth("victor")).json()["items"]
    assert [(x["flow"], x["affiliate"], x["status"]) for x in rows] == [("product", "MLB", "success")]
    detail = client.get(f"/api/v1/integrations/{rows[0]['id']}", headers=world.auth("victor")).json()
    assert detail["attempts"][0]["trigger"] == "external"


def test_it_classifies_reported_errors_with_the_knowledge_base(client, world, db):
    item_id = _post(client, world, [_item()]).json()["items"][0]["integration_id"]
    with db.read() as conn:
        row = conn.execute(select(integrations).where(integrations.c.id == item_id)).one()
    assert row.status == "error" and row.category == "out_of_stock" and row.cause


def test_it_records_a_retried_batch_once(client, world, db):
    key, batch = uuid.uuid4().hex, [_item(), _item(entity="1400-02")]
    first = _post(client, world, batch, key=key)
    again = _post(client, world, batch, key=key)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _external_count(db) == 2


def test_it_refuses_a_key_reused_for_another_batch(client, world, db):
    key = uuid.uuid4().hex
    _post(client, world, [_item()], key=key)
    r = _post(client, world, [_item(entity="1400-03")], key=key)
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
    assert _external_count(db) == 1


def test_it_keeps_one_stores_keys_apart_from_anothers(client, world, db):
    key = "batch-2026-11-22"
    assert _post(client, world, [_item()], key=key).json()["recorded"] == 1
    assert _post(client, world, [_item()], key=key, persona="bob").json()["recorded"] == 1
    assert _external_count(db) == 2


def test_it_refuses_items_one_by_one_and_records_the_rest(client, world, db):
    future = (now() + timedelta(days=2)).isoformat()
    body = _post(client, world, [_item(), _item(affiliate="XYZ"), _item(occurred_at=future)]).json()
    assert [(i["ok"], i["field"]) for i in body["items"]] == [
        (True, None),
        (False, "affiliate"),
        (False, "occurred_at"),
    ]
    assert _external_count(db) == 1


def test_it_refuses_a_malformed_batch_as_a_whole(client, world, db):
    for bad in ([_item(status="exploded")], [_item(occurred_at="2026-11-22T10:00:00")], [_item(extra=1)], []):
        assert _post(client, world, bad).status_code == 422
    assert _post(client, world, [_item()] * 1001).status_code == 422
    r = client.post("/api/v1/attempts", json={"attempts": [_item()]}, headers=world.auth("alice"))
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
    assert _external_count(db) == 0


def test_it_moves_the_current_status_only_to_a_newer_report(client, world, db):
    with db.read() as conn:
        ident = integration_id(conn, world.a, "product", "TEN-001")
        shown = conn.execute(select(integrations.c.processed_at).where(integrations.c.id == ident)).scalar_one()
    older = (shown - timedelta(hours=1)).isoformat()
    _post(
        client, world, [_item(flow="product", affiliate="MLB", entity="TEN-001", status="success", occurred_at=older)]
    )
    with db.read() as conn:
        row = conn.execute(select(integrations).where(integrations.c.id == ident)).one()
    assert row.status == "error" and row.attempt_count == 3
    _post(client, world, [_item(flow="product", affiliate="MLB", entity="TEN-001", status="success", message="OK")])
    with db.read() as conn:
        assert conn.execute(select(integrations.c.status).where(integrations.c.id == ident)).scalar_one() == "success"


def test_it_leaves_an_integration_queued_by_ponte_queued(client, world, db):
    with db.write() as conn:
        ident = integration_id(conn, world.a, "product", "TEN-001")
        conn.execute(update(integrations).where(integrations.c.id == ident).values(status="pending", due_at=now()))
    _post(client, world, [_item(flow="product", affiliate="MLB", entity="TEN-001", status="success", message="OK")])
    with db.read() as conn:
        assert conn.execute(select(integrations.c.status).where(integrations.c.id == ident)).scalar_one() == "pending"


def test_it_cuts_reported_bodies_to_the_body_limit(client, world, db, settings):
    r = _post(client, world, [_item(request="x" * (settings.body_limit * 2))])
    attempt_id = r.json()["items"][0]["attempt_id"]
    with db.read() as conn:
        stored = conn.execute(
            select(attempt_bodies.c.request).where(attempt_bodies.c.attempt_id == attempt_id)
        ).scalar_one()
    assert len(stored) < settings.body_limit + 100


def test_it_forbids_a_viewer_to_report(client, world):
    assert _post(client, world, [_item()], persona="victor").status_code == 403


def test_concurrent_batches_on_the_same_integrations_never_deadlock(client, world, db):
    """Two reporters posting overlapping batches at once, in opposite orders: on PostgreSQL each batch locks
    its integrations in id order (and creates missing ones in key order), so neither waits on the other in a
    cycle; a deadlock would be a 503 here. SQLite has one writer at a time, so it cannot deadlock there."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): concurrent batches cannot deadlock there")
    start = now() - timedelta(minutes=10)

    def batch(entities, offset):
        return [
            _item(
                entity=e,
                status="error" if n % 3 else "success",
                occurred_at=(start + timedelta(milliseconds=offset + n)).isoformat(),
            )
            for n, e in enumerate(entities)
        ]

    def post(barrier, ordered, offset, failures):
        barrier.wait()
        answer = _post(client, world, batch(ordered, offset))
        if answer.status_code != 200 or answer.json()["rejected"]:
            failures.append((offset, answer.status_code, answer.text[:200]))

    def race(entities, rounds):
        failures: list[tuple[int, int, str]] = []
        for round_ in range(rounds):
            barrier = threading.Barrier(2)
            run_together(
                partial(post, barrier, entities, 1000 * round_, failures),
                partial(post, barrier, entities[::-1], 1000 * round_ + 500, failures),
            )
        return failures

    existing = [f"DL-{n:04d}" for n in range(300)]
    assert _post(client, world, batch(existing, 0)).status_code == 200  # the integrations exist from here on
    assert race(existing, rounds=6) == []  # every batch updates the same 300 rows
    assert race([f"NEW-DL-{n:04d}" for n in range(300)], rounds=1) == []  # both create the same rows
    with db.read() as conn:
        counts = conn.execute(
            select(func.sum(integrations.c.attempt_count)).where(integrations.c.entity.like("%DL-%"))
        ).scalar_one()
        recorded = conn.execute(
            select(func.count())
            .select_from(attempts)
            .join(integrations, attempts.c.integration_id == integrations.c.id)
            .where(integrations.c.entity.like("%DL-%"))
        ).scalar_one()
    assert (counts, recorded) == (300 + 6 * 2 * 300 + 2 * 300,) * 2
