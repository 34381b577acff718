"""Help in Chromium: the "?" of a Mercado Livre row opens its article at the section, in the reader's language;
the Help page lists the articles and searches them."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import ALICE, add_affiliate, add_integration, two_stores

pytestmark = pytest.mark.browser


@pytest.fixture
def store(server):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
        meli = add_affiliate(conn, a.account_id, "MELI", "Mercado Livre", marketplace="mercadolivre")
        add_integration(
            conn, a.account_id, flow="product", affiliate_id=meli, entity="TEN-900", status="error",
            message="The attributes [GTIN] are required for category.", category="invalid_gtin",
        )  # fmt: skip
    return a


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_the_question_mark_opens_the_marketplace_section_in_the_reader_language(server, page, store, lang):
    sign_in(page, server.url, ALICE, lang=lang)
    page.goto(server.url + "/connections/product?affiliate=MELI&expand=all")
    with page.context.expect_page() as popup:
        page.locator(".help-btn").first.click()
    article = popup.value
    article.wait_for_load_state()
    assert article.url.endswith("/help/marketplace/mercadolivre?lang=" + lang + "#invalid_gtin")
    assert article.locator("html").get_attribute("lang") == lang
    section = article.locator("h2#invalid_gtin")
    expect(section).to_be_visible()
    expect(section).to_have_text(
        {"pt-BR": "GTIN (EAN) obrigatório ou inválido", "en": "GTIN (EAN) required or invalid"}[lang]
    )
    shot(article, f"help-article-{lang}", full=False)
    article.goto(server.url + "/help/marketplace/carrefour")
    expect(article.locator("nav.toc a[href='#sku_not_linked']")).to_be_visible()
    shot(article, f"help-carrefour-{lang}")


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_the_help_page_lists_and_searches_the_articles(server, page, store, lang):
    sign_in(page, server.url, ALICE, lang=lang)
    page.click(".mainnav >> text=" + {"pt-BR": "Ajuda", "en": "Help"}[lang])
    expect(page.locator(".help-list a[href='/help/marketplace/carrefour']")).to_be_visible()
    shot(page, f"help-index-{lang}")
    page.fill("#help-q", "GTIN")
    page.locator(".help-search button").click()
    expect(page.locator(".hits li").first).to_be_visible()
    expect(page.locator(".hits a[href='/help/marketplace/mercadolivre#invalid_gtin']")).to_be_visible()
    shot(page, f"help-search-{lang}")
