"""An operator's morning in the Connections screen, in headless Chromium: filter, search, expand, export,
reprocess and watch the row change, the order history from both entry points, the causes view, languages."""

from __future__ import annotations

import re

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from factories import ALICE, VICTOR, complete, integration_id, two_stores

pytestmark = pytest.mark.browser


@pytest.fixture
def store(server):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
    return a


def test_it_filters_by_status_and_searches_by_sku_prefix_and_message_words(server, page, store):
    sign_in(page, server.url, ALICE)
    page.click(".mainnav >> text=Conexões")  # the overview is the landing page
    page.click("nav.tabs >> text=Produtos")
    page.select_option("#f-status", "error")
    page.click("text=Filtrar")
    expect(page.locator("tr.row")).to_have_count(2)
    expect(page.locator("tr.row .status-error")).to_have_count(2)
    assert "status=error" in page.url
    page.fill("#f-id", "TEN-00")
    page.fill("#f-q", "gtin")
    page.click("text=Filtrar")
    expect(page.locator("tr.row")).to_have_count(1)
    expect(page.locator("tr.row").first).to_contain_text("TEN-004")
    shot(page, "op-filter-search")


def test_it_expands_one_row_and_then_all_rows_with_the_explained_error(server, page, store):
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/product")
    first_error = page.locator("tr.row", has=page.locator(".status-error")).first
    first_error.locator(".expander").click()
    details = page.locator("tr.details-row:not([hidden])")
    expect(details).to_have_count(1)
    expect(details.locator(".explain")).to_contain_text("O que fazer")
    expect(details.locator(".help-btn")).to_have_attribute("href", re.compile(r"^/help/\w+\?lang=pt-BR$"))
    page.click("#expand-all")
    expect(page.locator("tr.details-row:not([hidden]) .details-body")).to_have_count(6)
    expect(page.locator("#expand-all")).to_have_text("Recolher todos")
    shot(page, "op-expand-all")


def test_it_opens_the_help_article_from_the_question_mark(server, page, store):
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/order?status=error&expand=all")
    with page.context.expect_page() as popup:
        page.locator(".help-btn").first.click()
    article = popup.value
    article.wait_for_load_state()
    expect(article.locator("article h1")).to_be_visible()
    shot(article, "op-help-article")


def test_it_exports_what_the_filter_shows_to_an_excel_file_that_opens(server, page, store, tmp_path):
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/price?status=error")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0][:2] == ["ID / SKU", "Afiliado"]
    assert sorted(r[0] for r in rows[1:]) == ["TEN-001", "TEN-004"]
    assert all(r[3] == "Erro" for r in rows[1:])


def test_it_reprocesses_a_row_and_shows_it_change_live_keeping_the_filter_and_open_rows(server, page, store):
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/product?status=error")
    with server.db.read() as conn:
        iid = integration_id(conn, store, "product", "TEN-001")
    row = page.locator(f"#row-{iid}")
    other = page.locator("tr.row").filter(has_not=page.locator(f"#row-{iid}")).first
    other.locator(".expander").click()
    row.locator("summary").click()
    row.locator("button.reprocess").click()
    expect(page.locator(f"#row-{iid} .status")).to_have_text(re.compile("Pendente"))
    shot(page, "op-reprocessed-pending")
    with server.db.write() as conn:
        complete(conn, store.account_id, iid)
    expect(page.locator(f"#row-{iid} .status")).to_have_text(re.compile("sucesso"), timeout=10_000)
    assert "status=error" in page.url
    expect(page.locator("tr.details-row:not([hidden])")).to_have_count(1)
    shot(page, "op-live-changed")


def test_it_reprocesses_selected_rows_and_everything_a_filter_matches_with_a_reason(server, page, store):
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/inventory")
    boxes = page.locator('tr.row input[name="ids"]')
    boxes.nth(1).check()  # the first row is already pending: reprocess would leave it as it is
    boxes.nth(2).check()
    expect(page.locator("#reprocess-selected")).to_contain_text("(2)")
    page.click("#reprocess-selected")
    expect(page.locator(".flash")).to_contain_text("2 integrações enviadas")
    page.goto(server.url + "/connections/price?status=error")
    page.click("#reprocess-filter")
    expect(page.locator("#reprocess-count")).to_contain_text("2 integrações de Preço")
    page.fill("#reason", "Preço mínimo ajustado")
    shot(page, "op-reprocess-filter-confirm")
    page.click("button[type=submit].btn-primary")
    expect(page.locator(".flash")).to_contain_text("2 integrações enviadas")
    assert "status=pending" in page.url
    expect(page.locator("tr.row .status-pending")).to_have_count(3)  # the 2 queued and 1 already pending


def test_it_reaches_an_orders_integration_history_from_the_list_and_from_the_order(server, page, store):
    sign_in(page, server.url, ALICE)
    page.click("nav.mainnav >> text=Pedidos")
    row = page.locator("tr.row", has_text="1400-01")
    row.locator("summary").click()
    row.locator("text=Histórico de integração").click()
    expect(page.locator("h1")).to_contain_text("Histórico de integração · 1400-01")
    expect(page.locator(".attempt").first).to_contain_text("MLB · Mercado Livre")
    shot(page, "op-order-history-from-list")
    page.goto(server.url + "/orders/1400-01")
    page.click("text=Ações adicionais")
    page.click(".menu-list >> text=Histórico de integração")
    expect(page).to_have_url(re.compile(r"/orders/1400-01/history$"))
    expect(page.locator(".attempt")).not_to_have_count(0)


def test_it_groups_errors_by_cause_and_reprocesses_a_group(server, page, store):
    sign_in(page, server.url, ALICE)
    page.click("nav.mainnav >> text=Causas")
    causes = page.locator("li.cause")
    expect(causes).to_have_count(7)
    first = causes.first
    expect(first.locator(".cause-count b")).to_have_text("2")
    first.locator("text=Reprocessar este grupo").click()
    expect(page.locator("#reprocess-count")).to_contain_text("2 integrações deste grupo")
    page.fill("#reason", "Token renovado")
    page.click("button[type=submit].btn-primary")
    expect(page.locator(".flash")).to_contain_text("2 integrações enviadas")
    expect(page.locator("li.cause")).to_have_count(6)


def test_it_switches_to_english_and_remembers_it(server, page, store):
    sign_in(page, server.url, ALICE)
    page.click(".mainnav >> text=Conexões")
    page.click("a[hreflang=en]")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_contain_text("Orders")
    page.click("nav.tabs >> text=Tracking")
    expect(page.locator("#expand-all")).to_have_text("Expand all")
    expect(page.locator("#export-xlsx")).to_have_text("Export to Excel")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "op-english-tracking")


def test_it_shows_viewers_no_reprocess_buttons(server, page, store):
    sign_in(page, server.url, VICTOR)
    page.goto(server.url + "/connections/product?expand=all")
    expect(page.locator("button.reprocess")).to_have_count(0)
    expect(page.locator("#reprocess-filter")).to_have_count(0)
    expect(page.locator('input[name="ids"]')).to_have_count(0)


def test_it_can_be_used_with_the_keyboard_alone(server, page, store):
    sign_in(page, server.url, ALICE)
    page.goto(server.url + "/connections/product")
    page.keyboard.press("/")
    expect(page.locator("#f-id")).to_be_focused()
    page.locator("tr.row .expander").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("tr.details-row:not([hidden])")).to_have_count(1)
