"""Help: each marketplace's troubleshooting article (data, checked at load), where a row's "?" leads, the Help page
with its search, and every link of every article answering."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from factories import ALICE, add_affiliate, add_integration, add_order, login, two_stores
from ponte import auth, knowledge
from ponte.app import create_app
from ponte.knowledge import KnowledgeError, clear_knowledge_cache, load_knowledge
from ponte.knowledge.help import HELP_LOCALES, register_help_articles, unregister_help_articles
from ponte.knowledge.loader import DEFAULT_DIR

DEMO_MARKETPLACES = ("mercadolivre", "amazon", "carrefour", "magalu")
ISSUE_MARKETPLACES = ("mercadolivre", "amazon", "carrefour", "mirakl", "magalu", "americanas", "via", "dafiti")
ISSUE_MARKETPLACES += ("netshoes", "shopee")


@pytest.fixture
def stores(db, monkeypatch):
    # The personas' passwords are not what these tests are about; a cheap argon2 keeps setup fast.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with db.write() as conn:
        a, b = two_stores(conn)
        a.affiliates["MELI"] = add_affiliate(conn, a.account_id, "MELI", "Mercado Livre", marketplace="mercadolivre")
        a.affiliates["LRM"] = add_affiliate(conn, a.account_id, "LRM", "Leroy Merlin", marketplace="leroymerlin")
    return a, b


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


@pytest.fixture
def knowledge_copy(tmp_path, monkeypatch):
    """An editable copy of the knowledge data, loaded instead of the package's."""
    folder = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, folder)
    monkeypatch.setenv("PONTE_KNOWLEDGE_DIR", str(folder))
    clear_knowledge_cache()
    yield folder
    monkeypatch.delenv("PONTE_KNOWLEDGE_DIR")
    clear_knowledge_cache()


# -- the data --------------------------------------------------------------------------------------------------


def test_it_has_an_article_for_every_marketplace_the_issue_names_in_every_language():
    articles = load_knowledge().marketplace_articles
    assert set(ISSUE_MARKETPLACES) <= set(articles)
    for key in ISSUE_MARKETPLACES:
        assert set(articles[key].texts) == set(HELP_LOCALES), key
        assert articles[key].categories, f"{key} has no category section"


def test_every_category_article_is_written_in_every_language():
    kb = load_knowledge()
    for code in kb.categories:
        for locale in HELP_LOCALES:
            assert (code, locale) in kb.articles, f"{code}.{locale}.md"
    assert knowledge.article("out_of_stock", "es").startswith("# Stock insuficiente")
    assert knowledge.article("out_of_stock", "es-AR") == knowledge.article("out_of_stock", "es")


def test_it_takes_the_mirakl_article_from_the_connector_package():
    article = load_knowledge().marketplace_articles["mirakl"]
    assert Path(article.origin).parts[-3:] == ("connectors", "mirakl", "help")
    assert "auth_invalid" in article.categories


def test_every_article_cites_its_sources_for_the_marketplace_messages():
    for article in knowledge.marketplace_articles():
        for locale in HELP_LOCALES:
            for section in article.sections(locale):
                if section.anchor:
                    assert re.search(r"\]\(https://", section.text), f"{article.key}.{locale}: {section.title}"


def test_it_refuses_a_marketplace_article_missing_a_language(knowledge_copy):
    (knowledge_copy / "articles" / "marketplaces" / "amazon.es.md").unlink()
    with pytest.raises(KnowledgeError, match=r"amazon\.es\.md"):
        load_knowledge()


def test_it_refuses_a_section_for_an_unknown_category(knowledge_copy):
    path = knowledge_copy / "articles" / "marketplaces" / "amazon.en.md"
    path.write_text(path.read_text().replace("{#rate_limited}", "{#rate_limitted}"))
    with pytest.raises(KnowledgeError, match=r"amazon\.en\.md.*rate_limitted"):
        load_knowledge()


def test_it_refuses_languages_with_different_sections(knowledge_copy):
    path = knowledge_copy / "articles" / "marketplaces" / "amazon.es.md"
    path.write_text(path.read_text().replace(" {#rate_limited}", ""))
    with pytest.raises(KnowledgeError, match=r"amazon\.es\.md.*rate_limited"):
        load_knowledge()


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        ("[x](/help/no_such_category)", "no_such_category"),
        ("[x](/connections/product?category=nope)", "nope"),
        ("[x](ftp://files.example/a)", "neither https"),
        ("[x](http://plain.example/a)", "neither https"),
        ("[x](relative/page)", "neither https"),
        ("[x](#nowhere)", "no section"),
    ],
)
def test_it_refuses_a_link_that_cannot_work(knowledge_copy, link, problem):
    path = knowledge_copy / "articles" / "marketplaces" / "via.pt-BR.md"
    path.write_text(path.read_text() + f"\n\nVeja {link}.\n")
    with pytest.raises(KnowledgeError, match=re.escape(problem)):
        load_knowledge()


def test_it_refuses_to_start_when_an_article_names_a_screen_ponte_lacks(knowledge_copy, settings, db):
    path = knowledge_copy / "articles" / "invalid_category.pt-BR.md"
    path.write_text(path.read_text() + "\n\nAbra o [mapeamento de categorias](/category-mapping).\n")
    with pytest.raises(KnowledgeError, match=r"invalid_category\.pt-BR\.md.*/category-mapping"):
        create_app(settings, db=db)


def test_a_connector_article_replaces_ponte_own_for_its_marketplace(tmp_path):
    for locale in HELP_LOCALES:
        (tmp_path / f"via.{locale}.md").write_text(
            f"# Via ({locale})\n\n## Estoque {{#out_of_stock}}\n\n[s](https://x.example)\n"
        )
    register_help_articles(tmp_path)
    clear_knowledge_cache()
    try:
        article = load_knowledge().marketplace_articles["via"]
        assert article.title("es") == "Via (es)" and article.categories == {"out_of_stock"}
    finally:
        unregister_help_articles()
        clear_knowledge_cache()


# -- where "?" leads -------------------------------------------------------------------------------------------


def test_help_path_opens_the_marketplace_section_and_falls_back_to_the_category():
    assert knowledge.help_path("invalid_gtin", ["mercadolivre"]) == "/help/marketplace/mercadolivre#invalid_gtin"
    assert knowledge.help_path("invalid_gtin", ["meli"]) == "/help/marketplace/mercadolivre#invalid_gtin"  # alias
    assert knowledge.help_path("rate_limited", ["mercadolivre"]) == "/help/rate_limited"  # no such section
    assert knowledge.help_path("auth_invalid", ["leroymerlin", "mirakl"]) == "/help/marketplace/mirakl#auth_invalid"
    assert knowledge.help_path("auth_invalid", ["sandbox"]) == "/help/auth_invalid"


def test_the_question_mark_of_a_row_opens_its_marketplace_article_at_the_category(client, db, stores):
    a, _ = stores
    with db.write() as conn:
        row = add_integration(
            conn, a.account_id, flow="product", affiliate_id=a.affiliates["MELI"], entity="TEN-900", status="error",
            message="The attributes [GTIN] are required for category.", category="invalid_gtin",
        )  # fmt: skip
    login(client, ALICE)
    page = client.get(f"/integrations/{row}", headers={"hx-request": "true"}).text
    assert 'href="/help/marketplace/mercadolivre?lang=pt-BR#invalid_gtin"' in page
    article = client.get("/help/marketplace/mercadolivre?lang=en")
    assert article.status_code == 200 and '<html lang="en">' in article.text
    assert '<h2 id="invalid_gtin">GTIN (EAN) required or invalid</h2>' in article.text


def test_the_order_page_and_the_causes_page_lead_to_the_marketplace_article(client, db, stores):
    a, _ = stores
    with db.write() as conn:
        add_order(conn, a.account_id, a.affiliates["MELI"], "2000-01")
        add_integration(
            conn, a.account_id, flow="order", affiliate_id=a.affiliates["MELI"], entity="2000-01", status="error",
            message="Pedido não importado pois o SLA de entrega selecionado para o mesmo não está disponível",
            category="sla_unavailable",
        )  # fmt: skip
    login(client, ALICE)
    order = client.get("/orders/2000-01").text
    assert 'href="/help/marketplace/mercadolivre?lang=pt-BR#sla_unavailable"' in order
    causes = client.get("/causes?flow=order").text
    assert 'href="/help/marketplace/mercadolivre?lang=pt-BR#sla_unavailable"' in causes


def test_a_cause_on_two_marketplaces_leads_to_the_category_and_to_each_marketplace(client, db, stores):
    a, _ = stores
    message = "Sku sem estoque suficiente para o pedido"
    with db.write() as conn:
        for code, entity in (("MELI", "3000-01"), ("AMZ", "3000-02")):
            add_integration(
                conn, a.account_id, flow="order", affiliate_id=a.affiliates[code], entity=entity, status="error",
                message=message, category="out_of_stock",
            )  # fmt: skip
    login(client, ALICE)
    page = client.get("/causes", params={"flow": "order", "q": "sem estoque suficiente", "lang": "en"}).text
    cause = page[page.index(message) - 2000 : page.index(message)]
    assert 'class="help-btn" href="/help/out_of_stock?lang=en"' in cause
    assert (
        '<a href="/help/marketplace/mercadolivre?lang=en#out_of_stock" target="_blank" rel="noopener">MELI</a>' in page
    )
    assert '<a href="/help/out_of_stock?lang=en" target="_blank" rel="noopener">AMZ</a>' in page


# -- the Help page ---------------------------------------------------------------------------------------------


def test_the_help_page_lists_every_article_and_finds_words_across_them(client, stores):
    login(client, ALICE)
    index = client.get("/help?lang=pt-BR").text
    for article in knowledge.marketplace_articles():
        assert f'href="/help/marketplace/{article.key}"' in index
    for code in load_knowledge().categories:
        assert f'href="/help/{code}"' in index
    found = client.get("/help", params={"q": "catalogado", "lang": "pt-BR"}).text
    assert 'href="/help/marketplace/carrefour#sku_not_linked"' in found
    nothing = client.get("/help", params={"q": "zzzz-nada"}).text
    assert "Nenhum artigo tem todas essas palavras" in nothing


def test_the_search_escapes_what_it_echoes(client, stores):
    login(client, ALICE)
    page = client.get("/help", params={"q": "<script>x</script>"}).text
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page


def test_an_unknown_marketplace_article_is_a_404(client, stores):
    login(client, ALICE)
    assert client.get("/help/marketplace/nowhere").status_code == 404


def test_every_link_to_ponte_in_every_article_answers_200(client, stores):
    login(client, ALICE)
    paths = {href for _, text in knowledge.help_texts() for href in _internal_links(text)}
    assert len(paths) > 10
    for href in sorted(paths):
        answer = client.get(href)
        assert answer.status_code == 200, f"{href}: {answer.status_code}"


def _internal_links(markdown: str) -> list[str]:
    from ponte.knowledge.help import links

    return [href for href in links(markdown) if href.startswith("/")]
