"""Connecting a store to Mercado Livre as its admin would, in headless Chromium: "Conectar com o Mercado Livre",
the (emulated) consent page, and back to Ponte with the seller's nickname and id."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import ADA, add_account
from meli_fixtures import CLIENT_ID, CLIENT_SECRET, NICKNAME, SELLER_ID, Meli
from ponte.domain import Role
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.store.credentials import read_credentials

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_an_admin_connects_mercado_livre_through_its_consent_page(server, page, meli: Meli, lang: str) -> None:
    meli.admin(
        "POST", "/apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        redirect_uris=[f"{server.url}/oauth/callback/mercadolivre"], pkce_required=True,
    )  # fmt: skip
    box = SecretBox.from_environment(server.settings.secret_key_file)
    with server.db.write() as conn:
        account = add_account(conn, "loja-a", {ADA: Role.ADMIN})
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="MLB", name="Mercado Livre", connector="mercadolivre",
            settings={**meli.settings(), "client_secret": CLIENT_SECRET},
        )  # fmt: skip
    sign_in(page, server.url, ADA, lang=lang)
    page.goto(f"{server.url}/affiliates")
    row = page.locator(f"#aff-{affiliate}")
    expect(row).to_contain_text("Não conectado" if lang == "pt-BR" else "Not connected")
    shot(page, f"ml-onboarding-{lang}-before")
    row.get_by_role(
        "button", name="Conectar com o Mercado Livre" if lang == "pt-BR" else "Connect with Mercado Livre"
    ).click()
    expect(page.locator("h1")).to_contain_text("Mercado Livre — autorizar aplicativo")  # the marketplace's page
    page.select_option("select[name=user_id]", str(SELLER_ID))
    page.get_by_role("button", name="Permitir").click()
    page.wait_for_url(f"{server.url}/affiliates**")
    connected = f"{NICKNAME} ({SELLER_ID})"
    expect(page.locator(f"#aff-{affiliate}")).to_contain_text(connected)
    expect(page.locator(".flash, [role=status]").first).to_be_visible()
    shot(page, f"ml-onboarding-{lang}-after")
    with server.db.read() as conn:
        creds = read_credentials(conn, affiliate)
    assert creds is not None and creds.status == "active" and creds.subject == str(SELLER_ID)
    assert "APP_USR" not in page.content()  # the tokens are never shown


def test_a_seller_who_refuses_comes_back_with_the_reason_and_nothing_stored(server, page, meli: Meli) -> None:
    meli.admin(
        "POST", "/apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        redirect_uris=[f"{server.url}/oauth/callback/mercadolivre"],
    )  # fmt: skip
    box = SecretBox.from_environment(server.settings.secret_key_file)
    with server.db.write() as conn:
        account = add_account(conn, "loja-a", {ADA: Role.ADMIN})
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="MLB", name="Mercado Livre", connector="mercadolivre",
            settings={**meli.settings(), "client_secret": CLIENT_SECRET},
        )  # fmt: skip
    sign_in(page, server.url, ADA)
    page.goto(f"{server.url}/affiliates")
    page.locator(f"#aff-{affiliate}").get_by_role("button", name="Conectar com o Mercado Livre").click()
    page.get_by_role("button", name="Cancelar").click()
    expect(page.locator("[role=alert]")).to_contain_text("denied")
    with server.db.read() as conn:
        assert read_credentials(conn, affiliate) is None
