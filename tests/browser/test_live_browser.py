"""Live in the browser: counts, tab badges, row order and new rows follow the worker without a reload."""

from __future__ import annotations

import re

import pytest
from helpers import shot, sign_in
from playwright.sync_api import expect

from factories import ALICE, add_integration, complete, integration_id, two_stores

pytestmark = pytest.mark.browser


@pytest.fixture
def store(server):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
    return a


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_counts_badges_order_and_new_rows_follow_the_worker(server, page, store, lang):
    sign_in(page, server.url, ALICE, lang=lang)
    page.goto(server.url + "/connections/product")
    error_count = page.locator("#counts .count-error b")
    badge = page.locator("#tabs a[aria-current=page] .badge")
    expect(error_count).to_have_text("2")
    expect(badge).to_contain_text("2")
    with server.db.write() as conn:
        oldest = integration_id(conn, store, "product", "TEN-001")  # an error, at the bottom of the list
        complete(conn, store.account_id, oldest)
    expect(error_count).to_have_text("1", timeout=10_000)
    expect(page.locator("#counts .count-success b")).to_have_text("4")
    expect(badge).to_contain_text("1")
    expect(page.locator("tr.row").first).to_have_id(f"row-{oldest}")  # just processed: the newest, on top
    with server.db.write() as conn:
        add_integration(
            conn,
            store.account_id,
            flow="product",
            affiliate_id=store.affiliates["MLB"],
            entity="NEW-001",
            status="error",
            message="SEM GTIN is not a valid EAN",
            category="invalid_gtin",
            disposition="fix",
        )
    bar = page.locator("#new-rows a")
    expect(bar).to_have_text(re.compile("1 linha nova" if lang == "pt-BR" else "1 new row"), timeout=10_000)
    expect(error_count).to_have_text("2")
    shot(page, f"live-new-rows-{lang}", full=False)
    bar.click()
    expect(page.locator("tr.row").first).to_contain_text("NEW-001")
