"""Every page an operator opens, in pt-BR and English, at 1280 px and on a 390 px phone: axe-core finds no serious
or critical violation, nothing scrolls sideways, the navigation collapses into a menu on the phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import axe_violations, shot, sideways_overflow, sign_in
from playwright.sync_api import expect

from factories import ALICE, integration_id, two_stores

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
def store(server):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
        failing = integration_id(conn, a, "product", "TEN-001")
    return a, failing


def _pages(failing: int) -> list[str]:
    return [
        "/overview",
        *(f"/connections/{flow}" for flow in ("order", "product", "tracking", "price", "inventory")),
        "/connections/product?expand=all",
        "/causes",
        "/orders",
        "/orders/1400-01",
        "/orders/1400-01/history",
        "/skus/TEN-001",
        f"/integrations/{failing}",
        "/affiliates",
        "/alerts",
        "/rules",
        "/help/invalid_gtin",
    ]


@pytest.fixture(
    params=[(lang, width) for lang in ("pt-BR", "en") for width in WIDTHS],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def tab(browser, request) -> Iterator[object]:
    lang, width = request.param
    w, h = WIDTHS[width]
    # bypass_csp: axe-core is injected into the page, which Ponte's policy (rightly) forbids.
    context = browser.new_context(viewport={"width": w, "height": h}, locale=lang, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page, lang, width
    context.close()


def test_every_page_is_accessible_and_fits_the_window(server, tab, store):
    _, failing = store
    tab, lang, width = tab
    sign_in(tab, server.url, ALICE, lang=lang)
    problems: dict[str, list[str]] = {}
    for path in _pages(failing):
        tab.goto(server.url + path)
        expect(tab.locator("html")).to_have_attribute("lang", lang)
        found = axe_violations(tab) + [f"sideways: {o}" for o in sideways_overflow(tab)]
        if found:
            problems[path] = found
        shot(tab, f"screens-{lang}-{width}{path.replace('/', '-').replace('?', '-')}")
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items())


def test_the_login_page_is_accessible(server, tab):
    tab, lang, _ = tab
    tab.goto(server.url + f"/login?lang={lang}")
    assert axe_violations(tab) == [] and sideways_overflow(tab) == []


def test_the_phone_navigation_collapses_into_a_menu_that_opens(server, page, store):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/product")
    links = page.locator("#mainnav a")
    expect(links.first).to_be_hidden()
    toggle = page.locator("#nav-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for label in ("Visão geral", "Conexões", "Causas", "Pedidos", "Afiliados", "Alertas", "Regras"):
        box = page.locator("#mainnav a", has_text=label).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, label
    shot(page, "phone-nav-open", full=False)
    page.locator("#mainnav a", has_text="Pedidos").click()
    page.wait_for_url("**/orders")
    assert sideways_overflow(page) == []


def test_a_skip_link_reaches_the_first_row_in_a_few_tab_presses(server, page, store):
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/product")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip[href='#rows']")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    first = page.locator("tr.row").first
    assert page.evaluate("document.activeElement.closest('tr.row') && document.activeElement.closest('tr.row').id") == (
        first.get_attribute("id")
    )
