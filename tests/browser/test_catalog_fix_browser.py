"""Fix and reprocess in headless Chromium (issue 21): a store on the emulated Mercado Livre (the real connector, a
real worker); from a red "Categoria inválida" row the category is mapped in three clicks and every SKU of it goes
green; a missing required attribute is filled from its row; a viewer reads the editor but cannot save; the editor
checks values as they are typed, in English too."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import ALICE, PASSWORD, VICTOR
from ponte.auth import Role, create_user
from ponte.services import mapping
from ponte.services.affiliates import get_affiliate
from test_mercadolivre_flows import MeliHub

pytestmark = pytest.mark.browser


@pytest.fixture
def hub(meli: Any, server: Any, tmp_path: Any) -> Any:
    """The browser's server's store selling on the emulated Mercado Livre, its tree read once (as an operator would
    have, with "Ler a árvore"), with an operator and a viewer."""
    made = MeliHub(server.db, server.settings, meli, tmp_path, server.url)
    with server.db.write() as conn:
        create_user(conn, account_id=made.account, email=ALICE, password=PASSWORD, role=Role.OPERATOR)
        create_user(conn, account_id=made.account, email=VICTOR, password=PASSWORD, role=Role.VIEWER)
        affiliate = get_affiliate(conn, account_id=made.account, affiliate_id=made.affiliate)
    made.save("CEL-001", category="1000")  # filed under a parent category: Mercado Livre takes leaves only
    made.save("CEL-002", category="1000", name="Smartphone Acme X2 256 GB")
    made.save("TV-001", category="1002", name="Smart TV Acme 50", attributes={"MODEL": "T50"})  # no VOLTAGE
    fetched = mapping.fetch_structure(
        server.db, box=made.box, settings=made.settings, affiliate=affiliate, account_id=made.account
    )
    assert fetched.error is None
    made.drain()
    yield made
    made.worker.close()


def test_it_maps_an_invalid_category_in_three_clicks_and_every_sku_of_it_goes_green(meli, server, page, hub):
    sign_in(page, server.url, ALICE, lang="pt-BR")
    page.goto(server.url + "/connections/product?status=error")
    row = page.locator("tr.row", has_text="CEL-001")
    expect(row).to_contain_text("Categoria inválida")
    shot(page, "catalog-fix-1-red-row-pt")
    row.locator(".expander").click()  # 1
    page.locator("tr.details-row:not([hidden]) a.fix-link").click()  # 2
    expect(page.locator("tr#focus")).to_contain_text("1000")
    expect(page.locator("tr#focus select[name=target]")).to_have_value("MLB1055")  # the predictor's suggestion
    shot(page, "catalog-fix-2-mapping-pt")
    page.locator("tr#focus button[type=submit]").click()  # 3
    expect(page.locator(".flash")).to_contain_text("2 produtos serão enviados de novo")
    hub.drain()
    assert (hub.row("product", "CEL-001").status, hub.row("product", "CEL-002").status) == ("success", "success")
    page.goto(server.url + "/connections/product")
    for sku in ("CEL-001", "CEL-002"):
        expect(page.locator("tr.row", has_text=sku).locator(".status")).to_have_class("status status-success")
    shot(page, "catalog-fix-3-green-pt")


def test_it_fills_a_missing_required_attribute_from_its_row_and_the_sku_goes_green(meli, server, page, hub):
    assert hub.row("product", "TV-001").category == "missing_attribute"
    sign_in(page, server.url, ALICE, lang="pt-BR")
    page.goto(server.url + "/connections/product?status=error")
    page.locator("tr.row", has_text="TV-001").locator(".expander").click()
    page.locator("tr.details-row:not([hidden]) a.fix-link").click()
    voltage = page.locator("tr#attr-VOLTAGE")
    expect(voltage).to_contain_text("obrigatório")
    expect(voltage).to_contain_text("falta em 1 SKUs")
    expect(page.locator("table.mapping tbody tr").first).to_have_id("attr-VOLTAGE")  # what to fix comes first
    voltage.locator("select[name=source]").select_option("fixed")
    voltage.locator("select[name=value]").select_option("BIVOLT")
    shot(page, "catalog-fix-4-attribute-pt")
    voltage.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("1 produto será enviado de novo")
    hub.drain()
    assert hub.row("product", "TV-001").status == "success"
    (item,) = hub.meli.items("TV-001")
    assert {"id": "VOLTAGE", "value_name": "BIVOLT"} in [
        {"id": a["id"], "value_name": a["value_name"]} for a in item["attributes"]
    ]


def test_a_viewer_reads_the_editor_and_the_mapping_but_cannot_save(meli, server, page, hub):
    sign_in(page, server.url, VICTOR, lang="pt-BR")
    page.goto(server.url + "/skus/CEL-001")
    expect(page.locator("#sku-readonly")).to_be_visible()
    expect(page.locator("#sku-save")).to_have_count(0)
    expect(page.locator("#f-price")).to_be_disabled()
    shot(page, "catalog-editor-viewer-pt")
    page.goto(server.url + "/catalog/mapping")
    expect(page.locator("select[name=target]").first).to_be_disabled()
    expect(page.locator("table.mapping button[type=submit]")).to_have_count(0)


def test_the_editor_checks_values_as_typed_and_saves_with_a_reason_in_english(meli, server, page, hub):
    sign_in(page, server.url, ALICE, lang="en")
    page.goto(server.url + "/skus/CEL-001")
    page.fill("#f-ean", "7891234567890")  # a wrong check digit
    expect(page.locator("#err-ean")).to_contain_text("Invalid EAN/GTIN")
    page.fill("#f-price", "5000")
    expect(page.locator("#err-price")).to_contain_text("cannot be above the list price")
    shot(page, "catalog-editor-checks-en")
    page.fill("#f-ean", "7891234567895")
    page.fill("#f-price", "849.00")
    expect(page.locator("#sku-check")).to_contain_text("All good")
    page.fill("#f-reason", "campaign price")
    page.click("#sku-save")
    expect(page.locator(".flash")).to_contain_text("Product saved")
    expect(page.locator("#f-price")).to_have_value("849.00")
    assert hub.row("price", "CEL-001").status == "pending" and hub.row("product", "CEL-001").status == "error"
    shot(page, "catalog-editor-saved-en")
