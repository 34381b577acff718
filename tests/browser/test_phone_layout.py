"""The Connections list on a 390 px phone: nothing covers the status, the menu fits, the filter URL stays clean."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in

from factories import ALICE, two_stores

pytestmark = pytest.mark.browser


@pytest.fixture
def store(server):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
    return a


def _overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_it_keeps_status_and_actions_apart_on_a_phone(server, page, store):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server.url, ALICE)
    page.click("#nav-toggle")  # the navigation is a menu on a phone
    nav = page.locator(".mainnav a").first.bounding_box()
    assert nav and nav["height"] < 40  # "Visão geral" on one line
    page.goto(f"{server.url}/connections/product")
    page.select_option("#f-status", "error")
    page.click("text=Filtrar")
    page.wait_for_url("**/connections/product?status=error")  # empty fields are not sent
    for row in page.locator("tr.row").all():
        status = row.locator(".c-status .status").bounding_box()
        actions = row.locator(".c-actions summary").bounding_box()
        assert status and actions and not _overlaps(status, actions)
        assert actions["x"] + actions["width"] <= 390
    shot(page, "phone-connections-product", full=False)
    page.goto(f"{server.url}/affiliates")
    for row in page.locator("tr.row").all():
        state = row.locator("td").nth(3).bounding_box()
        button = row.locator(".c-actions .btn").first.bounding_box()
        assert state and button and not _overlaps(state, button)
