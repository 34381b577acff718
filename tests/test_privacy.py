"""Privacy and readable bodies: buyers' CPF, e-mail and phone are masked for viewers in requests, responses,
messages and exports, shown to operators; a request reads as method, URL and fields with the raw JSON kept."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from factories import ALICE, VICTOR, integration_id, login, two_stores
from ponte.app import create_app
from ponte.clock import now
from ponte.domain.privacy import mask_json, mask_text
from ponte.store.queue import insert_attempt
from ponte.store.tables import integrations
from ponte.web.bodies import body_view

BUYER = {
    "name": "Maria Silva",
    "email": "maria.silva@example.com",
    "document": "12345678901",
    "phone": {"area_code": "11", "number": "987654321"},
}
MESSAGE = "Pedido recusado: CPF 123.456.789-01 do comprador maria.silva@example.com inválido, tel (11) 98765-4321"


def test_it_masks_personal_data_in_text_and_json_and_keeps_ids():
    masked = mask_text(MESSAGE + " item MLB1234567890 pedido 2000001234567")
    assert "123.456.789-01" not in masked and "***.***.***-01" in masked
    assert "maria.silva@" not in masked and "m***@example.com" in masked
    assert "98765-4321" not in masked and "*****-4321" in masked
    assert "MLB1234567890" in masked and "2000001234567" in masked
    body = mask_json({"buyer": BUYER, "items": [{"sku": "TEN-001", "quantity": 1}]})
    assert "12345678901" not in str(body) and "987654321" not in str(body) and "maria.silva" not in str(body)
    assert body["items"] == [{"sku": "TEN-001", "quantity": 1}] and body["buyer"]["name"] == "Maria Silva"


def test_a_request_reads_as_method_url_and_fields():
    import json

    view = body_view(
        json.dumps({"method": "POST", "url": "https://erp.example/orders", "body": {"buyer": BUYER}}), masked=False
    )
    assert (view.method, view.url) == ("POST", "https://erp.example/orders")
    assert ("buyer.phone.number", "987654321") in view.fields and '"method": "POST"' in view.raw


@pytest.fixture
def stores(db):
    with db.write() as conn:
        a, b = two_stores(conn)
        iid = integration_id(conn, a, "order", "1400-01")
        conn.execute(update(integrations).where(integrations.c.id == iid).values(message=MESSAGE))
        insert_attempt(
            conn,
            values={
                "account_id": a.account_id,
                "integration_id": iid,
                "trigger": "change",
                "system": "BLING · Bling ERP",
                "status": "error",
                "message": MESSAGE,
                "http_status": 422,
                "started_at": now(),
                "duration_ms": 80,
            },
            request={"method": "POST", "url": "https://erp.example/orders", "body": {"buyer": BUYER}},
            response={"message": MESSAGE},
            body_limit=16_384,
        )
    return a, b, iid


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_viewers_see_masked_bodies_and_exports_and_operators_see_them_whole(client, stores):
    _, _, iid = stores
    login(client, VICTOR)
    for url in (f"/integrations/{iid}", "/orders/1400-01/history"):
        page = client.get(url + "?lang=pt-BR").text
        assert "12345678901" not in page and "987654321" not in page and "maria.silva@" not in page, url
        assert "123.456.789-01" not in page and "***.***.***-01" in page
        assert "JSON bruto" in page and '<b class="method">POST</b>' in page and "HTTP <b>422</b>" in page
    listing = client.get("/connections/order?status=error").text
    assert "123.456.789-01" not in listing and "***.***.***-01" in listing
    export = client.get("/connections/order/export.csv?status=error").text
    assert "***.***.***-01" in export and "123.456.789-01" not in export
    client.post("/logout", data={"csrf": ""})
    client.cookies.clear()
    login(client, ALICE)
    page = client.get(f"/integrations/{iid}").text
    assert "12345678901" in page and "maria.silva@example.com" in page
    assert "123.456.789-01" in client.get("/connections/order/export.csv?status=error").text
