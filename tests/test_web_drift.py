"""The Drift page over HTTP: counts by kind, the list (escaped), the export (neutralised), "repair these", the
account's settings, the SKU page's drift row; each store sees only its own."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import ADA, ALICE, BOB, VICTOR, login, two_stores
from ponte.app import create_app
from ponte.clock import now
from ponte.store import reconcile as store
from ponte.store.tables import integrations

EVIL = '<script>alert("x")</script>'


@pytest.fixture
def stores(db: Any) -> Any:
    with db.write() as conn:
        a, b = two_stores(conn)
        mlb = a.affiliates["MLB"]
        found = [
            store.Drift("MLB1", a.skus[0], "stock_higher", "2", "2", "9", "changed_there"),
            store.Drift("MLB2", "SKU-2", "price", "10.00", "10.00", "8.00", EVIL),
            store.Drift("MLB3", '=HYPERLINK("x")', "unknown", None, None, "active", "not_in_catalogue"),
        ]
        store.record_drifts(conn, account_id=a.account_id, affiliate_id=mlb, found=found, now=now())
    return a, b


@pytest.fixture
def client(settings: Any, db: Any) -> Any:
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def test_it_counts_lists_and_escapes_the_drift_of_an_affiliate(client: TestClient, stores: Any) -> None:
    a, _ = stores
    login(client, VICTOR)
    page = client.get(f"/affiliates/{a.affiliates['MLB']}/drift?lang=en")
    assert page.status_code == 200
    assert "Stock higher on the marketplace" in page.text and a.skus[0] in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert re.search(r"<b>3</b> all", page.text)
    only = client.get(f"/affiliates/{a.affiliates['MLB']}/drift?kind=price&lang=en").text
    assert "SKU-2" in only and a.skus[0] not in only
    assert client.get(f"/affiliates/{a.affiliates['MLB']}/drift?kind=bogus").status_code == 400


def test_the_export_neutralises_what_a_spreadsheet_would_run(client: TestClient, stores: Any) -> None:
    a, _ = stores
    login(client, ALICE)
    answer = client.get(f"/affiliates/{a.affiliates['MLB']}/drift.csv?lang=pt-BR")
    text = answer.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("SKU;Anúncio;Tipo")
    assert "'=HYPERLINK" in text and len(text.splitlines()) == 4


def test_repair_these_queues_what_can_be_repaired_as_reconciliation(client: TestClient, stores: Any, db: Any) -> None:
    a, _ = stores
    mlb = a.affiliates["MLB"]
    csrf = login(client, VICTOR)
    assert client.post(f"/affiliates/{mlb}/drift/repair", data={"csrf": csrf}).status_code == 403
    client.cookies.clear()
    csrf = login(client, ALICE)
    answer = client.post(f"/affiliates/{mlb}/drift/repair?lang=en", data={"csrf": csrf})
    assert "2 drifts queued for repair." in answer.text  # the unknown listing can only be reported
    with db.read() as conn:
        rows = conn.execute(
            select(integrations.c.flow, integrations.c.entity, integrations.c.status, integrations.c.next_trigger,
                   integrations.c.next_actor)
            .where(integrations.c.entity.in_((a.skus[0], "SKU-2")), integrations.c.affiliate_id == mlb,
                   integrations.c.next_trigger == "reconciliation")
        ).all()  # fmt: skip
    assert {(r.flow, r.entity, r.status, r.next_actor) for r in rows} == {
        ("inventory", a.skus[0], "pending", ALICE), ("price", "SKU-2", "pending", ALICE)
    }  # fmt: skip


def test_settings_are_the_admins_and_bad_values_change_nothing(client: TestClient, stores: Any, db: Any) -> None:
    a, _ = stores
    mlb = a.affiliates["MLB"]
    csrf = login(client, ALICE)
    assert (
        client.post(f"/affiliates/{mlb}/drift/settings", data={"csrf": csrf, "full_every_hours": "6"}).status_code
        == 403
    )
    client.cookies.clear()
    csrf = login(client, ADA)
    bad = client.post(f"/affiliates/{mlb}/drift/settings", data={"csrf": csrf, "full_every_hours": "0"})
    assert bad.status_code == 400
    good = client.post(
        f"/affiliates/{mlb}/drift/settings", data={"csrf": csrf, "full_every_hours": "6", "action.status": "repair"}
    )
    assert good.status_code == 200
    with db.read() as conn:
        saved = store.get_settings(conn, account_id=a.account_id)
    assert saved.full_every_hours == 6 and saved.repairs("status") and saved.repairs("stock_higher")


def test_another_store_sees_nothing_and_the_sku_page_shows_the_drift(client: TestClient, stores: Any) -> None:
    a, _ = stores
    login(client, BOB)
    assert client.get(f"/affiliates/{a.affiliates['MLB']}/drift").status_code == 404
    client.cookies.clear()
    login(client, ALICE)
    sku = client.get(f"/skus/{a.skus[0]}?lang=en").text
    assert "Stock higher on the marketplace" in sku and "store 2 · marketplace 9" in sku
