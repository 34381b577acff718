"""Every "?" of the demo store: each tab, marketplace and error category the demo produces, the causes page and
every order page. Each "?" must open, in the reader's language, its marketplace's article at the category's section,
or the category's own article where that marketplace has no section.

The demo is the real one (`ponte run --demo`'s loader): its marketplaces on the sandbox's emulations, its worker
sending the catalog and placing orders. Built once, on SQLite (about two minutes), and walked in both languages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import login
from ponte import knowledge
from ponte.app import create_app
from ponte.demo import PASSWORD
from ponte.runner import prepare_demo
from ponte.settings import Settings, load_settings
from ponte.store.db import Database
from ponte.store.migrate import migrate
from ponte.store.tables import affiliates, integrations

OPERATOR = "operador@demo.ponte"
HELP_BUTTON = re.compile(r'<a class="help-btn" href="([^"]+)"')


@pytest.fixture(scope="module")
def demo(sandbox_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Settings]]:
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PONTE_SECRET_KEY_FILE", str(folder / "secret.key"))
        sandbox_server.control("reset")
        settings = load_settings(folder)
        db = Database(settings)
        migrate(db)
        prepare_demo(db, settings, sandbox_server.url, None)
        yield db, settings
        db.dispose()


def test_every_question_mark_of_the_demo_opens_the_right_article_in_the_reader_language(demo):
    db, settings = demo
    present = _rows_with_help(db)
    assert {marketplace for _, marketplace, _, _ in present} >= {"mercadolivre", "carrefour", "magalu", "amazon"}
    with TestClient(create_app(settings, db=db), follow_redirects=True) as client:
        login(client, OPERATOR, PASSWORD)
        for lang in ("pt-BR", "en", "es"):
            opened: dict[str, str] = {}
            for flow, marketplace, code, category in sorted(present):
                page = client.get(
                    f"/connections/{flow}",
                    params={"status": ["error", "warning"], "affiliate": code, "category": category,
                            "expand": "all", "lang": lang},
                ).text  # fmt: skip
                hrefs = _help_buttons(page)
                assert hrefs, f"no '?' on the {flow} tab for {code} / {category}"
                assert hrefs == {_expected(category, marketplace, lang)}, (flow, code, category, hrefs)
                opened.update(dict.fromkeys(hrefs, category))
            causes = client.get("/causes", params={"lang": lang}).text
            assert _help_buttons(causes)
            opened.update(dict.fromkeys(_help_buttons(causes), ""))
            for order in _orders_in_error(db):
                page = client.get(f"/orders/{order}", params={"lang": lang}).text
                found = _help_buttons(page)
                assert found, f"no '?' on the page of order {order}"
                opened.update(dict.fromkeys(found, ""))
            assert {h.split("?")[0] for h in opened} >= {
                "/help/marketplace/mercadolivre",
                "/help/marketplace/carrefour",
            }
            for href in opened:
                _assert_opens(client, href, lang)


def _rows_with_help(db: Database) -> set[tuple[str, str, str, str]]:
    """(flow, marketplace, affiliate code, category) of every row the pages give a "?" (an error or a warning)."""
    i = integrations.c
    query = (
        select(i.flow, affiliates.c.marketplace, affiliates.c.code, i.category)
        .join(affiliates, affiliates.c.id == i.affiliate_id)
        .where(i.status.in_(("error", "warning")), i.category.is_not(None))
        .distinct()
    )
    with db.read() as conn:
        return {(r.flow, r.marketplace, r.code, r.category) for r in conn.execute(query)}


def _orders_in_error(db: Database) -> list[str]:
    i = integrations.c
    query = select(i.entity).where(i.flow == "order", i.status == "error", i.category.is_not(None)).distinct()
    with db.read() as conn:
        return sorted(conn.execute(query).scalars())


def _help_buttons(page: str) -> set[str]:
    return {html.unescape(href) for href in HELP_BUTTON.findall(page)}


def _expected(category: str, marketplace: str, lang: str) -> str:
    found = knowledge.marketplace_article([marketplace])
    if found is not None and category in found.categories:
        return f"/help/marketplace/{found.key}?lang={lang}#{category}"
    return f"/help/{category}?lang={lang}"


def _assert_opens(client: TestClient, href: str, lang: str) -> None:
    path, _, anchor = href.partition("#")
    answer = client.get(path)
    assert answer.status_code == 200, href
    assert f'<html lang="{lang}">' in answer.text, href
    if anchor:  # the marketplace's article, at the category's section, with the section's title in `lang`
        key = path.split("/")[3].split("?")[0]
        article = knowledge.marketplace_article([key])
        assert article is not None and anchor in article.categories
        titles = {s.anchor: s.title for s in article.sections(lang)}
        assert f'<h2 id="{anchor}">{html.escape(titles[anchor], quote=False)}</h2>' in answer.text, href
    else:  # the category's article: its title in `lang`
        category = path.split("/")[2].split("?")[0]
        title = knowledge.load_knowledge().categories[category].title[lang]
        assert html.escape(title, quote=False) in answer.text, href


def test_the_demo_catalog_is_read_from_its_bling(demo):
    from sqlalchemy import select

    from ponte.store.erp_catalog import catalog_read

    db, _settings = demo
    with db.read() as conn:
        erp = conn.execute(select(affiliates.c.id).where(affiliates.c.code == "BLING")).scalar_one()
        state = catalog_read(conn, affiliate_id=erp)
        marked = conn.execute(select(integrations.c.id).where(integrations.c.next_actor == "erp:BLING")).all()
    assert state is not None and not state.importing and state.taken_count == 300 and state.rejected == []
    assert marked == []  # the products matched: nothing was sent again
