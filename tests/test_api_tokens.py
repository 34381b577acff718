"""API tokens: created (shown once), listed without secrets, revoked — from the API and the command line."""

from __future__ import annotations

import typer
from sqlalchemy import select
from typer.testing import CliRunner

from api_fixtures import client_fixture, world_fixture  # noqa: F401
from ponte.auth import hash_token
from ponte.cli_tokens import token_app
from ponte.store.tables import api_tokens, audit_log


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(token_app, name="token")
    return app


def _run(settings, *args):
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    return runner.invoke(_cli(), ["token", *args, *base])


def test_it_creates_a_token_shown_once_and_stored_hashed(client, world, db):
    r = client.post("/api/v1/tokens", json={"name": "ERP sync", "role": "viewer"}, headers=world.auth("ada"))
    assert r.status_code == 201
    token = r.json()["token"]
    with db.read() as conn:
        stored = conn.execute(select(api_tokens).where(api_tokens.c.name == "ERP sync")).one()
        actions = list(conn.execute(select(audit_log.c.action)).scalars())
    assert stored.token_hash == hash_token(token) and token not in stored._mapping.values()
    assert "token.create" in actions
    listed = client.get("/api/v1/tokens", headers=world.auth("ada")).json()
    assert token not in str(listed) and "ERP sync" in [t["name"] for t in listed]
    assert client.get("/api/v1/summary", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_it_revokes_a_token_at_once(client, world):
    made = client.post("/api/v1/tokens", json={"name": "temp"}, headers=world.auth("ada")).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/v1/summary", headers=bearer).status_code == 200
    assert client.delete(f"/api/v1/tokens/{made['id']}", headers=world.auth("ada")).status_code == 204
    assert client.get("/api/v1/summary", headers=bearer).status_code == 401


def test_it_lets_only_admins_manage_tokens(client, world):
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=world.auth("alice")).status_code == 403
    assert client.get("/api/v1/tokens", headers=world.auth("victor")).status_code == 403


def test_it_answers_404_for_another_stores_token(client, world, db):
    with db.read() as conn:
        bobs = conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == "bob")).scalar_one()
    assert client.delete(f"/api/v1/tokens/{bobs}", headers=world.auth("ada")).status_code == 404
    assert client.get("/api/v1/summary", headers=world.auth("bob")).status_code == 200


def test_the_cli_prints_the_token_alone_for_scripts(settings, world, db):
    result = _run(settings, "create", "--account", "loja-a", "--role", "viewer", "--name", "script")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("pt_") and "\n" not in token
    with db.read() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == hash_token(token))).one()
    assert row.role == "viewer" and row.account_id == world.a.account_id


def test_the_cli_lists_and_revokes_tokens(settings, world, db):
    listed = _run(settings, "list", "--account", "loja-a", "--json")
    assert listed.exit_code == 0 and "alice" in listed.stdout and "token_hash" not in listed.stdout
    with db.read() as conn:
        alice = conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == "alice")).scalar_one()
    assert _run(settings, "revoke", str(alice), "--account", "loja-a").exit_code == 0
    with db.read() as conn:
        assert conn.execute(select(api_tokens.c.revoked_at).where(api_tokens.c.id == alice)).scalar_one() is not None


def test_the_cli_refuses_another_accounts_token_and_an_unknown_account(settings, world, db):
    with db.read() as conn:
        bobs = conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == "bob")).scalar_one()
    assert _run(settings, "revoke", str(bobs), "--account", "loja-a").exit_code == 1
    assert _run(settings, "create", "--account", "nope").exit_code == 1


def test_the_audit_log_tells_who_made_and_revoked_a_token(client, world):
    made = client.post("/api/v1/tokens", json={"name": "temp"}, headers=world.auth("ada")).json()
    assert client.delete(f"/api/v1/tokens/{made['id']}", headers=world.auth("ada")).status_code == 204
    r = client.get("/api/v1/audit", params={"limit": 2}, headers=world.auth("ada"))
    assert r.status_code == 200
    entries = r.json()
    assert [e["action"] for e in entries] == ["token.revoke", "token.create"]  # newest first
    assert entries[0]["detail"] == {"token_id": made["id"], "name": "temp"}
    assert entries[0]["id"] > entries[1]["id"] and entries[0]["actor"] == entries[1]["actor"]
    assert "account_id" not in entries[0]
