"""An order's page after its trip through Bling, in headless Chromium: imported → sent to Bling → NF-e issued in
Bling → invoice and tracking at the marketplace, in the operator's words and language."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import ADA, add_account
from ponte.domain import Role
from test_bling_flows import BlingHub

pytestmark = pytest.mark.browser


def test_an_orders_page_shows_its_trip_through_bling(server, page, sandbox, bling, tmp_path) -> None:
    with server.db.write() as conn:
        add_account(conn, "loja-a", {ADA: Role.ADMIN})
    hub = BlingHub(server.db, server.settings, sandbox, bling, tmp_path)
    try:
        hub.drain()
        order_id = hub.buy()
        hub.drain()
        bling.advance(121)
        assert hub.worker.poll_invoices(force=True) == 1
        hub.drain()
        key = hub.order(order_id).invoice_key
    finally:
        hub.worker.close()
    sign_in(page, server.url, ADA, lang="pt-BR")
    page.goto(f"{server.url}/orders/{order_id}")
    body = page.locator("main")
    expect(body).to_contain_text(key)  # the order's NF-e, as Bling issued it
    expect(body).to_contain_text("emitida no Bling")  # the Bling integration's latest word, in pt-BR
    expect(body).not_to_contain_text("issued in Bling")
    shot(page, "bling-order")
    page.goto(f"{server.url}/orders/{order_id}/history")
    history = page.locator("main")
    expect(history).to_contain_text("criado no Bling")  # sent to Bling
    expect(history).to_contain_text("emitida no Bling")  # invoiced
    expect(history).to_contain_text("registrado")  # the invoice and tracking at the marketplace ("envio … registrado")
    shot(page, "bling-order-history")
