"""Marketplace webhooks: signed with the affiliate's secret, fresh, and never accepted twice."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from ponte.services.webhooks import signature
from ponte.store.tables import audit_log, orders

ORDER = {"id": "WH-9001", "items": [{"sku": "TEN-001", "quantity": 1, "price": "179.90"}], "postal_code": "01310-100"}


@pytest.fixture
def secret(client, world) -> str:
    affiliate_id = world.a.affiliates["MLB"]
    r = client.post(f"/api/v1/affiliates/{affiliate_id}/webhook-secret", headers=world.auth("ada"))
    assert r.status_code == 200, r.text
    return r.json()["webhook_secret"]


def _deliver(
    client, secret, body=ORDER, *, delivery=None, timestamp=None, path="/api/v1/webhooks/MLB/orders", sign=None
):
    raw = json.dumps(body).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    headers = {
        "X-Ponte-Timestamp": stamp,
        "X-Ponte-Signature": sign or signature(secret, stamp, raw),
        "X-Ponte-Delivery": delivery or uuid.uuid4().hex,
        "Content-Type": "application/json",
    }
    return client.post(path, content=raw, headers=headers)


def _order_count(db, external_id="WH-9001") -> int:
    with db.read() as conn:
        return conn.execute(
            select(func.count()).select_from(orders).where(orders.c.external_id == external_id)
        ).scalar_one()


def test_it_accepts_a_signed_order_for_the_store_whose_secret_signed_it(client, world, db, secret):
    r = _deliver(client, secret)
    assert r.status_code == 200, r.text
    assert r.json() == {"order_id": "WH-9001", "created": True}
    with db.read() as conn:
        owner = conn.execute(select(orders.c.account_id).where(orders.c.external_id == "WH-9001")).scalar_one()
    assert owner == world.a.account_id


def test_it_accepts_the_account_scoped_url(client, world, secret):
    assert _deliver(client, secret, path="/api/v1/webhooks/loja-a/MLB/orders").status_code == 200
    assert _deliver(client, secret, path="/api/v1/webhooks/loja-b/MLB/orders").status_code == 401


def test_it_refuses_a_forged_signature(client, world, db, secret):
    r = _deliver(client, "not-the-secret")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert _order_count(db) == 0


def test_it_refuses_a_body_changed_after_signing(client, world, db, secret):
    stamp = str(int(time.time()))
    good = signature(secret, stamp, json.dumps(ORDER).encode())
    tampered = {**ORDER, "items": [{"sku": "TEN-001", "quantity": 50, "price": "0.01"}]}
    assert _deliver(client, secret, tampered, timestamp=stamp, sign=good).status_code == 401
    assert _order_count(db) == 0


def test_it_refuses_a_replayed_delivery(client, world, db, secret):
    delivery = uuid.uuid4().hex
    assert _deliver(client, secret, delivery=delivery).status_code == 200
    again = _deliver(client, secret, {**ORDER, "id": "WH-9002"}, delivery=delivery)
    assert again.status_code == 409
    assert _order_count(db, "WH-9002") == 0


def test_it_refuses_a_stale_timestamp(client, world, db, secret):
    assert _deliver(client, secret, timestamp=int(time.time()) - 600).status_code == 401
    assert _deliver(client, secret, timestamp="yesterday").status_code == 401
    assert _order_count(db) == 0


def test_it_answers_an_unknown_affiliate_like_a_bad_signature(client, world, secret):
    assert _deliver(client, secret, path="/api/v1/webhooks/NOPE/orders").status_code == 401


def test_it_refuses_an_invalid_order_and_keeps_the_delivery_id_free(client, world, db, secret):
    delivery = uuid.uuid4().hex
    bad = _deliver(client, secret, {**ORDER, "postal_code": "123"}, delivery=delivery)
    assert bad.status_code == 422 and bad.json()["field"] == "postal_code"
    assert _deliver(client, secret, delivery=delivery).status_code == 200


def test_it_recognises_an_order_sent_twice_with_new_delivery_ids(client, world, db, secret):
    assert _deliver(client, secret).json()["created"] is True
    assert _deliver(client, secret).json()["created"] is False
    assert _order_count(db) == 1


def test_it_never_shows_the_webhook_secret_again(client, world, db, secret):
    affiliate = client.get(f"/api/v1/affiliates/{world.a.affiliates['MLB']}", headers=world.auth("ada")).json()
    assert affiliate["webhook_secret_set"] is True
    assert secret not in json.dumps(affiliate)
    with db.read() as conn:
        details = json.dumps([r.detail for r in conn.execute(select(audit_log.c.detail))])
    assert secret not in details


def test_it_forbids_an_operator_to_rotate_the_secret(client, world):
    r = client.post(f"/api/v1/affiliates/{world.a.affiliates['MLB']}/webhook-secret", headers=world.auth("alice"))
    assert r.status_code == 403


def test_it_keeps_the_webhook_secret_when_the_affiliates_settings_change(client, world, secret):
    affiliate_id = world.a.affiliates["MLB"]
    settings = {"base_url": "http://127.0.0.1:2", "client_id": "loja-a", "client_secret": "outro"}
    r = client.patch(f"/api/v1/affiliates/{affiliate_id}", json={"settings": settings}, headers=world.auth("ada"))
    assert r.status_code == 200, r.text
    assert _deliver(client, secret).status_code == 200
