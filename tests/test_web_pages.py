"""Pages over HTTP: escaping of untrusted text, export downloads, live refresh, bad input, affiliate secrets."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from factories import ADA, ALICE, add_integration, complete, integration_id, knowledge_unsure_of, login, two_stores
from ponte.app import create_app
from ponte.web.render import stamp_hash


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_it_escapes_marketplace_messages_everywhere(client, db, stores):
    a, _ = stores
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with db.write() as conn:
        add_integration(
            conn,
            a.account_id,
            flow="product",
            affiliate_id=a.affiliates["MLB"],
            entity="XSS-1",
            status="error",
            message=evil,
            category="unmapped",
        )
    login(client, ALICE)
    for url in ("/connections/product?expand=all", "/causes", "/skus/XSS-1"):
        text = client.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text, url
        assert "&lt;script&gt;" in text, url


def test_it_downloads_the_filtered_list_as_excel_and_csv(client, stores):
    login(client, ALICE)
    answer = client.get("/connections/order/export.xlsx?status=error&lang=en")
    assert answer.headers["content-disposition"].endswith('.xlsx"')
    rows = CalamineWorkbook.from_filelike(io.BytesIO(answer.content)).get_sheet_by_index(0).to_python()
    assert [r[3] for r in rows[1:]] == ["Error", "Error"]
    csv = client.get("/connections/order/export.csv?status=error&lang=pt-BR").content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("ID / SKU;Afiliado")
    assert len(csv.splitlines()) == 3


def test_it_sends_only_the_rows_that_changed_to_the_live_refresh(client, db, stores):
    a, _ = stores
    login(client, ALICE)
    with db.read() as conn:
        one, two = (integration_id(conn, a, "product", s) for s in ("TEN-001", "TEN-002"))
    page = client.get("/connections/product").text
    stamps = dict(re.findall(r'id="row-(\d+)"[^>]*data-stamp="([0-9a-f]+)"', page))
    digest = page.split('data-counts="')[1].split('"')[0]
    query = f"/connections/product/live?c={digest}&s=" + ",".join(f"{i}.{s}" for i, s in stamps.items())
    stamps = {int(i): s for i, s in stamps.items()}
    assert client.get(query).status_code == 204
    with db.write() as conn:
        complete(conn, a.account_id, one)
    answer = client.get(query)
    assert f'id="row-{one}"' in answer.text and f'id="row-{two}"' not in answer.text
    assert stamp_hash("x") != stamps[one]


def test_it_answers_a_bad_cursor_or_date_with_a_clear_400(client, stores):
    login(client, ALICE)
    assert client.get("/connections/order?cursor=nonsense", headers={"HX-Request": "true"}).status_code == 400
    answer = client.get("/connections/order?from=31/12/2026")
    assert answer.status_code == 400 and "31/12/2026 não é uma data (use aaaa-mm-dd)" in answer.text
    answer = client.get("/connections/order?from=31/12/2026&lang=en")
    assert answer.status_code == 400 and "31/12/2026 is not a date (use yyyy-mm-dd)" in answer.text
    answer = client.get("/connections/nope?lang=es")
    assert answer.status_code == 400 and "pestaña desconocida: nope" in answer.text
    # Dates swapped: an error that says so, not an empty list.
    answer = client.get("/connections/order?from=2026-12-10&to=2026-12-01&lang=pt-BR")
    assert answer.status_code == 400 and "a data final vem antes da inicial" in answer.text
    assert client.get("/connections/order?from=2026-12-01&to=2026-12-01").status_code == 200  # one whole day


def test_it_pages_with_load_more(client, db, stores):
    a, _ = stores
    with db.write() as conn:
        for n in range(60):
            add_integration(
                conn,
                a.account_id,
                flow="price",
                affiliate_id=a.affiliates["B2W"],
                entity=f"P-{n:03d}",
                status="success",
                message="OK",
            )
    login(client, ALICE)
    first = client.get("/connections/price").text
    assert first.count('class="row') == 50
    link = first.split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    more = client.get(link, headers={"HX-Request": "true"}).text
    assert more.count('class="row') == 16 and "more-row" not in more


def test_it_never_shows_connector_secrets_back(client, db, stores):
    login(client, ADA)
    page = client.get("/affiliates")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    created = client.post(
        "/affiliates",
        data={
            "csrf": csrf,
            "code": "HOOK",
            "name": "Webhook ERP",
            "kind": "erp",
            "connector": "webhook",
            "settings.url": "https://erp.example/hook",
            "settings.secret": "s3cr3t-value-123",
        },
    )
    assert created.status_code == 200 and "HOOK" in created.text
    edit_id = next(
        part.split('"')[0] for part in created.text.split('id="aff-')[1:] if "HOOK" in part.split("</tr>")[0]
    )
    edit = client.get(f"/affiliates?edit={edit_id}").text
    assert "s3cr3t-value-123" not in edit and "https://erp.example/hook" in edit


@pytest.fixture
def unsure_knowledge(tmp_path, monkeypatch):
    with knowledge_unsure_of("zorblax", "state_conflict", tmp_path, monkeypatch):
        yield


def test_a_guessed_category_says_likely_in_the_details_and_a_known_one_does_not(client, db, stores, unsure_knowledge):
    a, _ = stores
    with db.write() as conn:
        guessed, known = (
            add_integration(
                conn,
                a.account_id,
                flow="order",
                affiliate_id=a.affiliates["MLB"],
                entity=entity,
                status="error",
                message=message,
                category=category,
                disposition="fix",
            )
            for entity, message, category in [
                ("PED-1", "zorblax no pedido", "state_conflict"),
                ("PED-2", "Pedido cancelado pelo comprador", "state_conflict"),
            ]
        )
    login(client, ALICE)
    page = client.get(f"/integrations/{guessed}?lang=pt-BR").text
    assert "chip-likely" in page and "provável" in page
    assert "likely</span>" in client.get(f"/integrations/{guessed}?lang=en").text
    assert "chip-likely" not in client.get(f"/integrations/{known}?lang=pt-BR").text
