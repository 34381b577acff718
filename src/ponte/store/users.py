"""Users as the layers above read them (ponte.auth checks their passwords): a typed record, never a Row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from ponte.store.tables import users


@dataclass(frozen=True)
class StoredUser:
    id: int
    account_id: int
    email: str
    password_hash: str
    role: str


def find_user(conn: Connection, *, email: str) -> StoredUser | None:
    """The user with this e-mail (as stored: trimmed and lower-case), or None."""
    u = users.c
    row = conn.execute(select(u.id, u.account_id, u.email, u.password_hash, u.role).where(u.email == email)).first()
    return None if row is None else StoredUser(int(row.id), int(row.account_id), row.email, row.password_hash, row.role)


def add_user(conn: Connection, *, account_id: int, email: str, password_hash: str, role: str, now: datetime) -> int:
    stmt = insert(users).values(
        account_id=account_id, email=email, password_hash=password_hash, role=role, created_at=now
    )
    return int(conn.execute(stmt.returning(users.c.id)).scalar_one())
