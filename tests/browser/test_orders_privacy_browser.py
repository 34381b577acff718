"""The orders list tells the truth and viewers read no buyer's personal data, in pt-BR and English."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import VICTOR, add_integration, two_stores
from ponte.clock import now
from ponte.store.queue import insert_attempt

pytestmark = pytest.mark.browser
CPF = "123.456.789-01"


@pytest.fixture
def store(server):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
        iid = add_integration(
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
        insert_attempt(
            conn,
            values={
                "account_id": a.account_id,
                "integration_id": iid,
                "trigger": "change",
                "system": "BLING · Bling ERP",
                "status": "error",
                "message": f"CPF {CPF} recusado",
                "http_status": 422,
                "started_at": now(),
                "duration_ms": 80,
            },
            request={"method": "POST", "url": "https://erp.example/orders", "body": {"buyer": {"cpf": CPF}}},
            response={"message": f"CPF {CPF} recusado"},
            body_limit=16_384,
        )
    return a


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_the_erp_refusal_shows_and_the_viewer_reads_no_cpf(server, page, store, lang):
    sign_in(page, server.url, VICTOR, lang=lang)
    page.goto(server.url + "/orders")
    row = page.locator("tr.row", has_text="1401-01")
    expect(row.locator(".c-worst .status-error")).to_be_visible()
    expect(row.locator(".c-worst")).to_contain_text("Enviado ao ERP" if lang == "pt-BR" else "Sent to ERP")
    shot(page, f"orders-erp-refused-{lang}", full=False)
    page.goto(server.url + "/orders/1401-01/history")
    page.locator("details.bodies > summary").first.click()
    expect(page.locator("details.bodies .fields").first).to_be_visible()
    assert CPF not in page.content() and "***.***.***-01" in page.content()
    expect(page.locator(".http-line .method").first).to_have_text("POST")
    shot(page, f"viewer-history-masked-{lang}")
