"""API test fixtures: the app on a real database, two seeded stores and a token per persona.

Personas: alice, operator of store A; victor, viewer of store A; ada, admin of store A; bob, admin of store B.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from factories import Store, two_stores
from ponte import auth
from ponte.app import create_app
from ponte.domain import Role
from ponte.services.tokens import create_token
from ponte.store.db import Database


@dataclass
class World:
    a: Store
    b: Store
    tokens: dict[str, str]  # persona -> clear token

    def auth(self, persona: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[persona]}"}


PERSONAS = {
    "alice": ("a", Role.OPERATOR),
    "victor": ("a", Role.VIEWER),
    "ada": ("a", Role.ADMIN),
    "bob": ("b", Role.ADMIN),
}


@pytest.fixture(name="world")
def world_fixture(db: Database, monkeypatch: pytest.MonkeyPatch) -> World:
    # The personas' passwords are not what these tests are about; a cheap argon2 keeps setup fast.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with db.write() as conn:
        a, b = two_stores(conn)
        tokens = {}
        for persona, (store, role) in PERSONAS.items():
            account_id = a.account_id if store == "a" else b.account_id
            tokens[persona] = create_token(conn, account_id=account_id, name=persona, role=role, actor="setup").token
    return World(a, b, tokens)


@pytest.fixture(name="client")
def client_fixture(settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db=db), raise_server_exceptions=True) as test_client:
        yield test_client
