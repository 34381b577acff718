"""The pages under their Content Security Policy, in headless Chromium: no script, style or request the policy
blocks on any page an admin opens, htmx still works (live rows, reprocess), and logging out ends the session."""

from __future__ import annotations

import pytest
from helpers import shot, sign_in

from factories import ADA, two_stores

pytestmark = pytest.mark.browser

PAGES = ["/overview", "/connections/product", "/causes", "/orders", "/affiliates", "/alerts", "/rules"]


def test_no_page_trips_the_content_security_policy_and_logout_ends_the_session(server, page):
    with server.db.write() as conn:
        two_stores(conn)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, server.url, ADA)
    for path in PAGES:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        if path == "/affiliates":
            shot(page, "security-affiliates-csp")
    page.goto(server.url + "/connections/product")
    page.locator("button.expander").first.click()  # htmx fetches the details under the policy
    page.wait_for_selector(".details, [id^=d-]")
    assert blocked == []
    cookies = page.context.cookies()
    page.click("text=Sair")
    page.wait_for_url("**/login**")
    other = page.context.browser.new_context()
    other.add_cookies([c for c in cookies if c["name"] == "ponte_session"])
    stolen = other.new_page()
    stolen.goto(server.url + "/overview")
    assert "/login" in stolen.url  # the copied cookie no longer opens anything
    other.close()
