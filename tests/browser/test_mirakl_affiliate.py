"""An admin sets up Carrefour on Mirakl from the Affiliates page and tests the connection, in headless Chromium: the
answer is Ponte's message in the reader's language."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import ADA, add_account
from mirakl_support import KEY, SHOP
from ponte.domain import Role

pytestmark = pytest.mark.browser


def test_an_admin_registers_a_mirakl_marketplace_and_its_test_names_the_shop(server, page, mirakl):
    with server.db.write() as conn:
        add_account(conn, "loja-a", {ADA: Role.ADMIN})
    sign_in(page, server.url, ADA)
    page.goto(server.url + "/affiliates")
    page.click("summary >> text=Novo afiliado")
    page.fill("#af-code", "CRF")
    page.fill("#af-name-new", "Carrefour (Mirakl)")
    page.select_option("#af-connector", "mirakl")
    fields = page.locator("fieldset[data-connector=mirakl]")
    expect(fields.locator("label", has_text="Chave de API da loja")).to_be_visible()
    page.fill("#af-new-mirakl-operator", "Carrefour")
    page.fill("#af-new-mirakl-base_url", mirakl.url + "/api/")
    page.fill("#af-new-mirakl-api_key", KEY)
    page.fill("#af-new-mirakl-shop_id", str(SHOP))
    page.fill("#af-new-mirakl-carriers", '{"Correios": "CORREIOS"}')
    shot(page, "mirakl-affiliate-form")
    page.click("form[action='/affiliates'] >> text=Salvar")
    row = page.locator("tr.row", has_text="CRF")
    expect(row).to_contain_text("Mirakl (Carrefour, Leroy Merlin e outros)")
    row.locator("text=Testar conexão").click()
    result = page.locator(".test-result")
    expect(result).to_contain_text("Conectado a Carrefour: loja Loja Alice (id 2001, OPEN)")  # Ponte's words, in pt-BR
    expect(result).not_to_contain_text("Connected to")
    expect(page.locator("body")).not_to_contain_text(KEY)  # the key is never shown back
    shot(page, "mirakl-affiliate-tested")
