"""Who may see and do what on the pages: login, roles, accounts, CSRF."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import ALICE, BOB, VICTOR, integration_id, login, login_form_token, two_stores
from ponte.app import create_app
from ponte.store.tables import audit_log, integrations


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def _status(db, iid):
    with db.read() as conn:
        return conn.execute(select(integrations.c.status).where(integrations.c.id == iid)).scalar_one()


def test_it_sends_anonymous_visitors_to_the_login_page(client, stores):
    answer = client.get("/connections/product?status=error", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/connections/product")


def test_it_refuses_a_wrong_password(client, stores):
    answer = client.post("/login", data={"email": ALICE, "password": "nope-nope", "csrf": login_form_token(client)})
    assert answer.status_code == 401 and "incorretos" in answer.text


def test_it_never_redirects_off_site_after_login(client, stores):
    answer = client.post(
        "/login",
        data={
            "email": ALICE,
            "password": "correct horse battery",
            "next": "//evil.example/x",
            "csrf": login_form_token(client),
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/overview"


def test_it_lets_an_operator_reprocess_a_row_and_records_who(client, db, stores):
    a, _ = stores
    csrf = login(client, ALICE)
    with db.read() as conn:
        iid = integration_id(conn, a, "product", "TEN-001")
    answer = client.post(f"/integrations/{iid}/reprocess", headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert answer.status_code == 200 and "Pendente" in answer.text
    assert _status(db, iid) == "pending"
    with db.read() as conn:
        entry = conn.execute(select(audit_log)).one()
    assert entry.actor == ALICE and entry.action == "reprocess"


def test_it_hides_reprocess_from_viewers_and_refuses_their_posts(client, db, stores):
    a, _ = stores
    csrf = login(client, VICTOR)
    page = client.get("/connections/product")
    assert "Reprocessar" not in page.text and 'name="ids"' not in page.text
    with db.read() as conn:
        iid = integration_id(conn, a, "product", "TEN-001")
    assert client.post(f"/integrations/{iid}/reprocess", data={"csrf": csrf}).status_code == 403
    assert (
        client.post("/connections/product/reprocess?status=error", data={"csrf": csrf, "reason": "x"}).status_code
        == 403
    )
    assert (
        client.post("/connections/product/reprocess-selected", data={"csrf": csrf, "ids": [str(iid)]}).status_code
        == 403
    )
    assert _status(db, iid) == "error"


def test_it_refuses_a_post_without_the_csrf_token(client, db, stores):
    a, _ = stores
    login(client, ALICE)
    with db.read() as conn:
        iid = integration_id(conn, a, "product", "TEN-001")
    assert client.post(f"/integrations/{iid}/reprocess").status_code == 403
    assert client.post(f"/integrations/{iid}/reprocess", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert _status(db, iid) == "error"


def test_it_answers_404_for_another_accounts_ids(client, db, stores):
    a, _ = stores
    csrf = login(client, BOB)
    with db.read() as conn:
        iid = integration_id(conn, a, "product", "TEN-001")
    assert client.get(f"/integrations/{iid}").status_code == 404
    assert client.post(f"/integrations/{iid}/reprocess", data={"csrf": csrf}).status_code == 404
    assert _status(db, iid) == "error"
    assert client.get("/orders/1405-01").status_code == 404  # only store A has order 1405-01
    assert client.get("/skus/TEN-006").status_code == 404


def test_it_only_reprocesses_selected_rows_of_the_own_account(client, db, stores):
    a, b = stores
    csrf = login(client, BOB)
    with db.read() as conn:
        theirs = integration_id(conn, a, "product", "TEN-001")
        mine = integration_id(conn, b, "product", "TEN-001")
    client.post("/connections/product/reprocess-selected", data={"csrf": csrf, "ids": [str(theirs), str(mine)]})
    assert _status(db, theirs) == "error" and _status(db, mine) == "pending"


def test_it_asks_a_reason_before_reprocessing_a_filter(client, db, stores):
    a, _ = stores
    csrf = login(client, ALICE)
    confirm = client.get("/connections/product/reprocess?status=error")
    assert "2 integrações de Produtos serão reprocessadas" in confirm.text
    refused = client.post("/connections/product/reprocess?status=error", data={"csrf": csrf, "reason": " "})
    assert refused.status_code == 400
    with db.read() as conn:
        assert _status(db, integration_id(conn, a, "product", "TEN-001")) == "error"
    done = client.post("/connections/product/reprocess?status=error", data={"csrf": csrf, "reason": "EAN corrigido"})
    assert done.status_code == 200 and "2 integrações enviadas" in done.text
    with db.read() as conn:
        entry = conn.execute(select(audit_log)).one()
    assert entry.detail["reason"] == "EAN corrigido" and entry.detail["count"] == 2


def test_an_authorisation_link_already_used_is_said_in_the_readers_language(client, stores):
    """The marketplace sends the seller back with a state Ponte does not know (used, expired, forged)."""
    from factories import ADA

    login(client, ADA)
    page = client.get("/oauth/callback/bling", params={"state": "nao-existe", "code": "x"})
    assert page.status_code == 400
    assert "este link de autorização é desconhecido, já foi usado ou expirou" in page.text
    spanish = client.get("/oauth/callback/bling", params={"state": "nao-existe", "code": "x", "lang": "es"})
    assert "este enlace de autorización es desconocido" in spanish.text
