"""Connecting a store to Amazon as its admin would, in headless Chromium: "Conectar com a Amazon", Seller Central's
(emulated) consent page, and back to Ponte with the seller's id, which the callback named (selling_partner_id)."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from amazon_support import APPLICATION_ID, CLIENT_ID, CLIENT_SECRET, SELLER_ID, AmazonWorld
from factories import ADA, add_account
from ponte.domain import Role
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.store.credentials import read_credentials

pytestmark = pytest.mark.browser


def _store(server, amazon: AmazonWorld) -> int:
    amazon.admin(
        "apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, application_id=APPLICATION_ID,
        redirect_uris=[f"{server.url}/oauth/callback/amazon"],
    )  # fmt: skip
    box = SecretBox.from_environment(server.settings.secret_key_file)
    with server.db.write() as conn:
        account = add_account(conn, "loja-a", {ADA: Role.ADMIN})
        return create_affiliate(
            conn, box=box, account_id=account, code="AMZ", name="Amazon", connector="amazon",
            settings={**amazon.settings(), "client_secret": CLIENT_SECRET},
        )  # fmt: skip


def test_an_admin_connects_amazon_through_seller_centrals_consent_page(server, page, amazon: AmazonWorld) -> None:
    affiliate = _store(server, amazon)
    sign_in(page, server.url, ADA)
    page.goto(f"{server.url}/affiliates")
    page.locator(f"#aff-{affiliate}").get_by_role("button", name="Conectar com a Amazon").click()
    expect(page.locator("h1")).to_contain_text("Amazon Seller Central — autorizar aplicativo")  # Amazon's page
    page.select_option("select[name=seller_id]", SELLER_ID)
    page.get_by_role("button", name="Confirmar").click()
    page.wait_for_url(f"{server.url}/affiliates**")
    expect(page.locator(f"#aff-{affiliate}")).to_contain_text(SELLER_ID)
    shot(page, "amazon-onboarding-after")
    with server.db.read() as conn:
        creds = read_credentials(conn, affiliate)
    assert creds is not None and creds.status == "active" and creds.subject == SELLER_ID
    assert "Atzr|" not in page.content() and "Atza|" not in page.content()  # the tokens are never shown


def test_a_seller_who_cancels_comes_back_with_the_reason_and_nothing_stored(server, page, amazon: AmazonWorld) -> None:
    affiliate = _store(server, amazon)
    sign_in(page, server.url, ADA)
    page.goto(f"{server.url}/affiliates")
    page.locator(f"#aff-{affiliate}").get_by_role("button", name="Conectar com a Amazon").click()
    page.get_by_role("button", name="Cancelar").click()
    expect(page.locator("[role=alert]")).to_contain_text("did not authorize")
    with server.db.read() as conn:
        assert read_credentials(conn, affiliate) is None


def test_an_operator_previews_a_listing_on_the_sku_page_before_anything_is_listed(server, page, amazon) -> None:
    from amazon_support import EAN
    from ponte.connectors.base import Identity
    from ponte.engine.credentials import StoredCredentials
    from ponte.services.catalog import SkuInput, save_skus

    affiliate = _store(server, amazon)
    box = SecretBox.from_environment(server.settings.secret_key_file)
    with server.db.write() as conn:
        account = read_account(conn)
        item = {"sku": "CEL-001", "name": "Smartphone X1", "ean": EAN, "price": "899.00", "stock": {"main": 3}}
        save_skus(conn, account_id=account, items=[SkuInput.model_validate(item)])
    StoredCredentials(server.db, box, affiliate).store(amazon.grant(), Identity(SELLER_ID, "Amazon.com.br"))
    sign_in(page, server.url, ADA)
    page.goto(f"{server.url}/skus/CEL-001")
    page.get_by_role("button", name="Validar em Amazon (prévia, nada é publicado)").click()
    result = page.locator(".preview-result")
    expect(result).to_contain_text("90220: 'brand' is required but not supplied.")
    shot(page, "amazon-sku-preview")
    assert amazon.listings() == {}


def read_account(conn) -> int:
    from sqlalchemy import select

    from ponte.store.tables import accounts

    return int(conn.execute(select(accounts.c.id).where(accounts.c.slug == "loja-a")).scalar_one())
