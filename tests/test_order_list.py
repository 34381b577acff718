"""The orders list tells the truth: each order's steps (imported, sent to the ERP, invoiced, tracking sent) with the
worst one visible, paged beyond 100 orders, filtered by affiliate, status, step and date."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from factories import ALICE, add_integration, login, two_stores
from ponte.app import create_app
from ponte.clock import now
from ponte.services.order_list import OrderQuery, list_orders
from ponte.store.tables import orders


@pytest.fixture
def stores(db):
    with db.write() as conn:
        a, b = two_stores(conn)
        # 1401-01 was imported from Amazon (success) but the ERP refused it.
        add_integration(
            conn,
            a.account_id,
            flow="order",
            affiliate_id=a.affiliates["BLING"],
            entity="1401-01",
            status="error",
            message="transportadora nao cadastrada",
            category="integration_config",
            disposition="fix",
            system="BLING · Bling ERP",
        )
        conn.execute(update(orders).where(orders.c.external_id == "1402-01").values(invoice_key="3" * 44))
    return a, b


def _ids(page):
    return [o.external_id for o in page.orders]


def test_it_shows_the_erp_refusal_as_the_orders_worst_step(db, stores):
    a, _ = stores
    with db.read() as conn:
        page = list_orders(conn, account_id=a.account_id, query=OrderQuery())
    assert len(page.orders) == 6 and page.next_cursor is None
    order = {o.external_id: o for o in page.orders}
    refused = order["1401-01"]
    assert [(s.step, s.status) for s in refused.steps] == [
        ("import", "success"),
        ("erp", "error"),
        ("invoice", None),
        ("tracking", "warning"),
    ]
    assert refused.worst and (refused.worst.step, refused.worst.status) == ("erp", "error")
    assert refused.worst.system == "BLING"
    assert dict((s.step, s.status) for s in order["1402-01"].steps)["invoice"] == "success"


def test_it_filters_by_worst_status_step_affiliate_and_date(db, stores):
    a, _ = stores
    with db.read() as conn:

        def ids(**kw):
            return sorted(_ids(list_orders(conn, account_id=a.account_id, query=OrderQuery(**kw))))

        assert ids(statuses=("error",)) == ["1400-01", "1401-01", "1403-01"]
        assert ids(statuses=("error",), step="erp") == ["1401-01"]
        assert ids(statuses=("error",), step="import") == ["1400-01", "1403-01"]
        assert "1401-01" not in ids(statuses=("success",)) and ids(statuses=("success",))
        assert ids(statuses=("success",), step="invoice") == ["1402-01"]
        assert ids(affiliates=("AMZ",)) == ["1401-01", "1403-01", "1405-01"]
        assert ids(received_from=now() + timedelta(days=1)) == []
        assert len(ids(received_to=now() + timedelta(days=1))) == 6


def test_it_pages_beyond_the_first_hundred_orders(db, stores):
    a, _ = stores
    when = now() - timedelta(days=3)
    with db.write() as conn:
        conn.execute(
            insert(orders),
            [
                {
                    "account_id": a.account_id,
                    "affiliate_id": a.affiliates["MLB"],
                    "external_id": f"P-{n:03d}",
                    "status": "placed",
                    "buyer": {},
                    "items": [],
                    "total": 10,
                    "postal_code": "01310100",
                    "received_at": when - timedelta(minutes=n // 2),  # pairs share a time: the id breaks the tie
                    "updated_at": when,
                }
                for n in range(130)
            ],
        )
    with db.read() as conn:
        first = list_orders(conn, account_id=a.account_id, query=OrderQuery())
        assert len(first.orders) == 100 and first.next_cursor
        second = list_orders(conn, account_id=a.account_id, query=OrderQuery(), cursor=first.next_cursor)
    assert len(second.orders) == 36 and second.next_cursor is None
    assert not set(_ids(first)) & set(_ids(second))


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_the_orders_page_shows_each_step_and_filters_by_step(client, stores):
    login(client, ALICE)
    page = client.get("/orders?lang=pt-BR").text
    row = page.split('data-order="1401-01"')[1].split("</tr>")[0]
    assert "status-error" in row and "Enviado ao ERP" in row
    assert re.search(r'data-step="erp" data-status="error"', row)
    filtered = client.get("/orders?status=error&step=erp").text
    assert 'data-order="1401-01"' in filtered and 'data-order="1400-01"' not in filtered
    english = client.get("/orders?lang=en").text
    assert "Sent to ERP" in english and "Needs attention" in english
    assert client.get("/orders?from=2026-13-01").status_code == 400
