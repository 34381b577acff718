"""A tour of every page in pt-BR and English, at 1280 px and phone width, saving screenshots to look at."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in

from factories import ALICE, two_stores

pytestmark = pytest.mark.browser

PAGES = {
    "orders-tab": "/connections/order",
    "products-expanded": "/connections/product?expand=all",
    "price-errors": "/connections/price?status=error",
    "causes": "/causes",
    "orders": "/orders",
    "order": "/orders/1400-01",
    "order-history": "/orders/1400-01/history",
    "sku": "/skus/TEN-001",
    "affiliates": "/affiliates",
    "help": "/help/out_of_stock",
    "reprocess-confirm": "/connections/product/reprocess?status=error",
}


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_it_shows_every_page_in_each_language_at_desktop_and_phone_width(server, page, lang):
    with server.db.write() as conn:
        two_stores(conn)
    sign_in(page, server.url, ALICE, lang=lang)
    for width, label in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 860})
        for name, path in PAGES.items():
            response = page.goto(server.url + path)
            assert response.status == 200, f"{path}: {response.status}"
            assert page.locator("html").get_attribute("lang") == lang
            shot(page, f"{label}-{lang}-{name}")
