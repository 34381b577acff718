"""The Overview and Alerts pages in a real browser, pt-BR and English, with screenshots to look at."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import shot, sign_in
from sqlalchemy import insert, select

from factories import ADA, two_stores
from ponte.alerts import evaluate_alerts
from ponte.clock import now
from ponte.store.tables import attempts, integrations

pytestmark = pytest.mark.browser


def _week_of_attempts(conn, store) -> None:
    """A week of hourly traffic per integration, with an afternoon of Amazon price errors yesterday."""
    rows = []
    start = now() - timedelta(days=7)
    for iid, flow, affiliate in conn.execute(
        select(integrations.c.id, integrations.c.flow, integrations.c.affiliate_id).where(
            integrations.c.account_id == store.account_id
        )
    ):
        for hour in range(0, 7 * 24, 3):
            when = start + timedelta(hours=hour, minutes=iid % 50)
            failing = affiliate == store.affiliates["AMZ"] and flow == "price" and 130 <= hour <= 140
            rows.append(
                {
                    "account_id": store.account_id,
                    "integration_id": iid,
                    "trigger": "change",
                    "system": "sandbox",
                    "status": "error" if failing or hour % 29 == 0 else "success",
                    "message": "HTTP 503" if failing else "OK",
                    "started_at": when,
                    "duration_ms": 80,
                }
            )
    conn.execute(insert(attempts), rows)


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_it_lands_on_the_overview_and_each_number_opens_connections_filtered(server, page, lang):
    with server.db.write() as conn:
        a, _ = two_stores(conn)
        _week_of_attempts(conn, a)
    evaluate_alerts(server.db, server.settings)
    sign_in(page, server.url, ADA, lang=lang)
    assert page.url.endswith("/overview")
    assert page.locator(".tile").count() >= 8
    assert page.locator("svg.chart").first.is_visible()
    shot(page, f"desktop-{lang}-overview")
    page.set_viewport_size({"width": 390, "height": 860})
    shot(page, f"phone-{lang}-overview")
    page.set_viewport_size({"width": 1280, "height": 900})
    tile = page.locator(".tile", has_text="AMZ").filter(has_text="preço" if lang == "pt-BR" else "price")
    tile.locator("dd a").nth(1).click()
    page.wait_for_url("**/connections/price?status=error&affiliate=AMZ")
    assert page.locator("tbody tr").count() >= 1
    page.goto(f"{server.url}/alerts")
    assert page.locator("h1").inner_text() == ("Alertas" if lang == "pt-BR" else "Alerts")
    shot(page, f"desktop-{lang}-alerts")
