"""Catalog and order routes: single and bulk writes with per-item results, and nothing half-written."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from sqlalchemy import func, select

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from factories import run_together
from ponte.domain.checks import nfe_check_digit
from ponte.store.tables import integrations, skus, stock

SKU = {
    "sku": "MOC-001",
    "name": "Mochila Ponte",
    "brand": "Ponte",
    "ean": "7891234567895",
    "price": "99.90",
    "list_price": "120.00",
    "stock": {"main": 4},
}


def test_it_saves_a_sku_and_queues_it_for_every_marketplace(client, world, db):
    r = client.post("/api/v1/skus", json=SKU, headers=world.auth("alice"))
    assert r.status_code == 200, r.text
    got = client.get("/api/v1/skus/MOC-001", headers=world.auth("victor")).json()
    assert got["name"] == "Mochila Ponte" and got["stock"] == {"main": 4} and got["price"] == "99.90"
    with db.read() as conn:
        flows = {r.flow for r in conn.execute(select(integrations.c.flow).where(integrations.c.entity == "MOC-001"))}
    assert flows == {"product", "price", "inventory"}


def test_it_refuses_an_invalid_ean_naming_the_field(client, world, db):
    r = client.post("/api/v1/skus", json={**SKU, "ean": "7891234567890"}, headers=world.auth("alice"))
    assert r.status_code == 422
    assert r.json()["field"] == "ean"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(skus).where(skus.c.sku == "MOC-001")).scalar_one() == 0


def test_it_reports_each_item_of_a_bulk_sku_write(client, world, db):
    items = [SKU, {**SKU, "sku": "MOC-002", "price": "130.00"}, {"sku": "MOC-003"}, {**SKU, "sku": "MOC-004"}]
    r = client.post("/api/v1/skus/bulk", json=items, headers=world.auth("alice"))
    body = r.json()
    assert r.status_code == 200 and body["accepted"] == 2 and body["rejected"] == 2
    assert [i["ok"] for i in body["items"]] == [True, False, False, True]
    assert body["items"][2]["field"] == "name"
    with db.read() as conn:
        saved = set(conn.execute(select(skus.c.sku).where(skus.c.sku.like("MOC-%"))).scalars())
    assert saved == {"MOC-001", "MOC-004"}


def test_it_refuses_a_bulk_write_over_the_item_limit(client, world):
    r = client.post("/api/v1/stock/bulk", json=[{"sku": "TEN-001", "quantity": 1}] * 1001, headers=world.auth("alice"))
    assert r.status_code == 422


def test_it_sets_stock_in_bulk_and_reports_unknown_skus(client, world, db):
    items = [{"sku": "TEN-001", "quantity": 7}, {"sku": "NOPE-9", "quantity": 1}, {"sku": "TEN-002", "quantity": -1}]
    body = client.post("/api/v1/stock/bulk", json=items, headers=world.auth("alice")).json()
    assert [(i["ok"], i["field"]) for i in body["items"]] == [(True, None), (False, "sku"), (False, "quantity")]
    with db.read() as conn:
        quantity = conn.execute(
            select(stock.c.quantity)
            .join(skus, skus.c.id == stock.c.sku_id)
            .where(skus.c.sku == "TEN-001", skus.c.account_id == world.a.account_id)
        ).scalar_one()
    assert quantity == 7


def test_it_sets_a_price_and_refuses_a_price_above_the_list_price(client, world):
    ok = client.post(
        "/api/v1/prices", json={"sku": "TEN-001", "list_price": "200", "price": "150"}, headers=world.auth("alice")
    )
    assert ok.status_code == 200
    bad = client.post(
        "/api/v1/prices", json={"sku": "TEN-001", "list_price": "100", "price": "150"}, headers=world.auth("alice")
    )
    assert bad.status_code == 422


def test_it_answers_404_for_a_sku_of_another_store(client, world):
    client.post("/api/v1/skus", json=SKU, headers=world.auth("bob"))
    assert client.get("/api/v1/skus/MOC-001", headers=world.auth("alice")).status_code == 404
    assert (
        client.post(
            "/api/v1/prices", json={"sku": "MOC-001", "list_price": "2", "price": "1"}, headers=world.auth("alice")
        ).status_code
        == 404
    )


def _nfe_key() -> str:
    first = "3526110" + "1" * 36
    return first + str(nfe_check_digit(first))


def test_it_records_tracking_of_a_placed_order(client, world, db):
    from sqlalchemy import update

    from ponte.store.tables import orders

    order_id = world.a.orders[0]
    with db.write() as conn:
        conn.execute(
            update(orders)
            .where(orders.c.external_id == order_id, orders.c.account_id == world.a.account_id)
            .values(status="placed")
        )
    body = {"invoice_key": _nfe_key(), "carrier": "Correios", "tracking_number": "BR123"}
    r = client.put(f"/api/v1/orders/{order_id}/tracking", json=body, headers=world.auth("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "invoiced" and r.json()["tracking_number"] == "BR123"


def test_it_refuses_an_invalid_nfe_key(client, world):
    key = _nfe_key()
    wrong = key[:-1] + str((int(key[-1]) + 1) % 10)
    body = {"invoice_key": wrong, "carrier": "Correios", "tracking_number": "BR123"}
    r = client.put(f"/api/v1/orders/{world.a.orders[0]}/tracking", json=body, headers=world.auth("alice"))
    assert r.status_code == 422 and r.json()["field"] == "invoice_key"


def test_it_reads_an_order(client, world):
    r = client.get(f"/api/v1/orders/{world.a.orders[0]}", headers=world.auth("victor"))
    assert r.status_code == 200 and r.json()["affiliate"] in ("MLB", "AMZ")


def test_concurrent_bulk_writes_to_the_same_skus_never_deadlock(client, world, db):
    """Two ERPs pushing the same SKUs at once, in opposite orders, the first time creating them: each bulk
    writes its rows in one order, so neither waits on the other in a cycle (a deadlock would be a 503), and
    the one that finds a SKU just created by the other updates it (it was a unique violation, a 500). SQLite
    has one writer at a time."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): concurrent bulks cannot deadlock there")
    codes = [f"DL-{n:03d}" for n in range(200)]
    skus_in = [{"sku": c, "name": f"Produto {c}", "price": "10.00", "list_price": "12.00"} for c in codes]

    def push(barrier, path, items, failures):
        barrier.wait()
        try:
            answer = client.post(path, json=items, headers=world.auth("alice"))
        except Exception as exc:  # the test client raises what the server raised (a 500)
            failures.append((path, 500, repr(exc)[:200]))
            return
        if answer.status_code != 200 or answer.json()["rejected"]:
            failures.append((path, answer.status_code, answer.text[:200]))

    failures: list[tuple[str, int, str]] = []
    for round_ in range(4):
        prices = [{"sku": c, "list_price": "20.00", "price": f"{10 + round_}.00"} for c in codes]
        quantities = [{"sku": c, "quantity": round_} for c in codes]
        for path, items in (
            ("/api/v1/skus/bulk", skus_in),
            ("/api/v1/prices/bulk", prices),
            ("/api/v1/stock/bulk", quantities),
        ):
            barrier = threading.Barrier(2)
            run_together(
                partial(push, barrier, path, items, failures), partial(push, barrier, path, items[::-1], failures)
            )
    assert failures == []
    with db.read() as conn:
        quantities_left = set(
            conn.execute(
                select(stock.c.quantity).join(skus, skus.c.id == stock.c.sku_id).where(skus.c.sku.like("DL-%"))
            ).scalars()
        )
    assert quantities_left == {3}
