"""Accounts (stores) as the layers above read them: an id and a slug, never a Row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from ponte.store.tables import accounts


@dataclass(frozen=True)
class Account:
    id: int
    slug: str


def account_id(conn: Connection, *, slug: str) -> int | None:
    """The id of the account with this slug, or None."""
    found = conn.execute(select(accounts.c.id).where(accounts.c.slug == slug)).scalar_one_or_none()
    return None if found is None else int(found)


def create_account(conn: Connection, *, slug: str, name: str, now: datetime) -> int:
    stmt = insert(accounts).values(slug=slug, name=name, created_at=now).returning(accounts.c.id)
    return int(conn.execute(stmt).scalar_one())


def list_accounts(conn: Connection) -> list[Account]:
    """Every account, oldest first."""
    rows = conn.execute(select(accounts.c.id, accounts.c.slug).order_by(accounts.c.id))
    return [Account(int(r.id), r.slug) for r in rows]
