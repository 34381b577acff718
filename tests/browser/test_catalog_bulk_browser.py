"""Bulk changes and spreadsheets in headless Chromium, in pt-BR (issue 21 item 6): a store on the emulated Mercado
Livre (the real connector, a real worker) filters its catalog by a parent category Mercado Livre refuses, previews
mapping every SKU of it to a leaf, confirms, and sees them go green; the catalog page fits a 390 px phone; the
attribute sheet goes out and back in as Excel."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest
from helpers import shot, sideways_overflow, sign_in
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from factories import ALICE, PASSWORD
from ponte.auth import Role, create_user
from ponte.exports import write_xlsx
from ponte.services import mapping
from ponte.services.affiliates import get_affiliate
from test_mercadolivre_flows import MeliHub

pytestmark = pytest.mark.browser


@pytest.fixture
def hub(meli: Any, server: Any, tmp_path: Any) -> Any:
    """Three phones filed under Mercado Livre's parent category 1000 (stopped before sending), a TV in 1002 without
    its required VOLTAGE, the tree read once; an operator."""
    made = MeliHub(server.db, server.settings, meli, tmp_path, server.url)
    with server.db.write() as conn:
        create_user(conn, account_id=made.account, email=ALICE, password=PASSWORD, role=Role.OPERATOR)
        affiliate = get_affiliate(conn, account_id=made.account, affiliate_id=made.affiliate)
    for n in (1, 2, 3):
        made.save(f"CEL-00{n}", category="1000", name=f"Smartphone Acme X{n} 128 GB")
    made.save("TV-001", category="1002", name="Smart TV Acme 50", attributes={"MODEL": "T50"})
    fetched = mapping.fetch_structure(
        server.db, box=made.box, settings=made.settings, affiliate=affiliate, account_id=made.account
    )
    assert fetched.error is None
    made.drain()
    yield made
    made.worker.close()


def test_it_filters_previews_and_maps_every_sku_of_a_category_at_once(meli, server, page, hub):
    assert hub.row("product", "CEL-001").category == "invalid_category"
    sign_in(page, server.url, ALICE, lang="pt-BR")
    page.goto(server.url + "/catalog")
    page.select_option("#f-category", "1000")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#catalog-count")).to_have_text("3 SKUs")
    expect(page.locator("table.catalog-list tbody tr")).to_have_count(3)
    shot(page, "catalog-bulk-1-filtered-pt")
    form = page.locator("#bulk-category")
    form.locator("input[name=target]").fill("MLB1055")
    form.locator("button[type=submit]").click()
    expect(page.locator("#bulk-matched")).to_have_text("3")
    expect(page.locator("#bulk-changing")).to_have_text("3")
    expect(page.locator("#bulk-unchanged")).to_have_text("0")
    expect(page.locator("table.bulk-sample tbody tr").first).to_contain_text("MLB1055")
    shot(page, "catalog-bulk-2-preview-pt")
    page.fill("#b-reason", "celulares vão para Smartphones")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-result")).to_have_text("3 SKUs alterados; as integrações afetadas foram marcadas como pendentes.")  # fmt: skip
    expect(page.locator(".bulk-step progress").last).to_have_attribute("value", "3")
    shot(page, "catalog-bulk-3-done-pt")
    hub.drain()
    assert {hub.row("product", f"CEL-00{n}").status for n in (1, 2, 3)} == {"success"}
    assert {item["category_id"] for item in hub.meli.items()} == {"MLB1055"}
    page.click("#bulk-back")
    page.goto(server.url + "/catalog?category=1000&affiliate=MLB&status=success")
    expect(page.locator("#catalog-count")).to_have_text("3 SKUs")


def test_the_catalog_and_its_preview_fit_a_phone(meli, server, page, hub):
    sign_in(page, server.url, ALICE, lang="pt-BR")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/catalog?category=1000")
    expect(page.locator("#catalog-count")).to_have_text("3 SKUs")
    assert sideways_overflow(page) == []
    shot(page, "catalog-bulk-4-phone-pt")
    page.locator("#bulk-attribute input[name=attribute]").fill("Acabamento")
    page.locator("#bulk-attribute input[name=value]").fill("Fosco")
    page.locator("#bulk-attribute button[type=submit]").click()
    expect(page.locator("#bulk-changing")).to_have_text("3")
    assert sideways_overflow(page) == []
    shot(page, "catalog-bulk-5-phone-preview-pt")


def test_the_catalog_fits_the_screen_in_english_and_spanish_too(meli, server, page, hub):
    sign_in(page, server.url, ALICE, lang="en")
    for lang, count in (("en", "3 SKUs"), ("es", "3 SKU")):
        page.goto(server.url + f"/catalog?category=1000&lang={lang}")
        expect(page.locator("#catalog-count")).to_have_text(count)
        assert sideways_overflow(page) == []
        shot(page, f"catalog-bulk-6-desktop-{lang}")


def test_the_attribute_sheet_goes_out_and_back_in_as_excel(meli, server, page, hub):
    sign_in(page, server.url, ALICE, lang="pt-BR")
    page.goto(server.url + f"/catalog/mapping/{hub.affiliate}/attributes?category=MLB1002")
    with page.expect_download() as download:
        page.click("#sheet-export-xlsx")
    header, *rows = CalamineWorkbook.from_path(str(download.value.path())).get_sheet_by_index(0).to_python()
    assert [row[0] for row in rows] == ["TV-001"] and "VOLTAGE*" in header
    edited = [dict(zip(header, row, strict=True)) | {"VOLTAGE*": "BIVOLT"} for row in rows]
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(path, iter(edited), tuple(header), sheet="x", date_format="yyyy-mm-dd", rows_per_sheet=10, expected=1)  # fmt: skip
        page.set_input_files("#sheet-file", path)
        page.click("#sheet-import")
    finally:
        os.unlink(path)
    expect(page.locator("#sheet-report")).to_contain_text("1 SKUs atualizados")
    hub.drain()
    assert hub.row("product", "TV-001").status == "success"
