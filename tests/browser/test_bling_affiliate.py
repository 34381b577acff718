"""An admin registers the store's Bling from the Affiliates page, in headless Chromium: the ERP kind, the app's
credentials and the payment method, then "Conectar com o Bling" is offered."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from bling_support import CLIENT_ID, CLIENT_SECRET, PAYMENT, STORE
from factories import ADA, add_account
from ponte.domain import Role

pytestmark = pytest.mark.browser


def test_an_admin_registers_bling_as_the_stores_erp(server, page, bling):
    with server.db.write() as conn:
        add_account(conn, "loja-a", {ADA: Role.ADMIN})
    sign_in(page, server.url, ADA)
    page.goto(server.url + "/affiliates")
    page.click("summary >> text=Novo afiliado")
    page.fill("#af-code", "BLING")
    page.fill("#af-name-new", "Bling")
    page.select_option("#af-kind-new", "erp")
    page.select_option("#af-connector", "bling")
    fields = page.locator("fieldset[data-connector=bling]")
    expect(fields.locator("label", has_text="ID da forma de pagamento dos pedidos")).to_be_visible()
    page.fill("#af-new-bling-client_id", CLIENT_ID)
    page.fill("#af-new-bling-client_secret", CLIENT_SECRET)
    page.fill("#af-new-bling-api_url", bling.api_url)
    page.fill("#af-new-bling-auth_url", bling.api_url)
    page.fill("#af-new-bling-payment_method_id", str(PAYMENT))
    page.fill("#af-new-bling-store_ids", f'{{"MLB": {STORE}}}')
    shot(page, "bling-affiliate-form")
    page.click("form[action='/affiliates'] >> text=Salvar")
    row = page.locator("tr.row", has_text="BLING")
    expect(row).to_contain_text("Bling (ERP)")
    expect(row.get_by_role("button", name="Conectar com o Bling")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(CLIENT_SECRET)  # the secret is never shown back
    shot(page, "bling-affiliate-saved")
