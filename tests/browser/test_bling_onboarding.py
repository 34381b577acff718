"""Connecting a store's ERP to Bling as its admin would, in headless Chromium: "Conectar com o Bling", the
(emulated) consent page, and back to Ponte with the company's name."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from bling_support import CLIENT_ID, CLIENT_SECRET, COMPANY, COMPANY_NAME, BlingWorld
from factories import ADA, add_account
from ponte.domain import Role
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.store.credentials import read_credentials

pytestmark = pytest.mark.browser


def test_an_admin_connects_the_stores_bling_through_its_consent_page(server, page, bling: BlingWorld) -> None:
    bling.admin(
        "apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=f"{server.url}/oauth/callback/bling"
    )
    box = SecretBox.from_environment(server.settings.secret_key_file)
    with server.db.write() as conn:
        account = add_account(conn, "loja-a", {ADA: Role.ADMIN})
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="BLING", name="Bling", kind="erp", connector="bling",
            settings={**bling.settings(), "client_secret": CLIENT_SECRET},
        )  # fmt: skip
    sign_in(page, server.url, ADA, lang="pt-BR")
    page.goto(f"{server.url}/affiliates")
    row = page.locator(f"#aff-{affiliate}")
    expect(row).to_contain_text("Não conectado")
    shot(page, "bling-onboarding-before")
    row.get_by_role("button", name="Conectar com o Bling").click()
    expect(page.locator("h1")).to_contain_text("Bling — autorizar aplicativo")  # Bling's page (the CSP let it go)
    page.select_option("select[name=company]", COMPANY)
    page.get_by_role("button", name="Autorizar").click()
    page.wait_for_url(f"{server.url}/affiliates**")
    expect(page.locator(f"#aff-{affiliate}")).to_contain_text(COMPANY_NAME)
    shot(page, "bling-onboarding-after")
    with server.db.read() as conn:
        creds = read_credentials(conn, affiliate)
    assert creds is not None and creds.status == "active" and creds.subject == COMPANY
