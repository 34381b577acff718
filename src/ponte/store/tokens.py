"""API tokens as stored: their hashes, roles and use (the clear token is never stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, or_, select, update

from ponte.store.tables import api_tokens


@dataclass(frozen=True)
class TokenInfo:
    """A token as people see it listed (never its hash)."""

    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class TokenHolder:
    """The account and role a live token stands for."""

    id: int
    account_id: int
    name: str
    role: str
    last_used_at: datetime | None


_INFO = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.prefix,
    api_tokens.c.role,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


def insert_token(
    conn: Connection, *, account_id: int, name: str, prefix: str, token_hash: str, role: str, created_at: datetime
) -> int:
    stmt = insert(api_tokens).values(
        account_id=account_id, name=name, prefix=prefix, token_hash=token_hash, role=role, created_at=created_at
    )
    return int(conn.execute(stmt.returning(api_tokens.c.id)).scalar_one())


def list_tokens(conn: Connection, *, account_id: int, include_revoked: bool) -> list[TokenInfo]:
    """The account's tokens, oldest first."""
    t = api_tokens.c
    query = select(*_INFO).where(t.account_id == account_id)
    if not include_revoked:
        query = query.where(t.revoked_at.is_(None))
    return [TokenInfo(*row) for row in conn.execute(query.order_by(t.id))]


def find_token(conn: Connection, *, account_id: int, token_id: int) -> TokenInfo | None:
    t = api_tokens.c
    row = conn.execute(select(*_INFO).where(t.account_id == account_id, t.id == token_id)).first()
    return None if row is None else TokenInfo(*row)


def revoke_token(conn: Connection, *, token_id: int, at: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=at))


def live_token(conn: Connection, *, token_hash: str) -> TokenHolder | None:
    """The unrevoked token with this hash, or None."""
    t = api_tokens.c
    row = conn.execute(
        select(t.id, t.account_id, t.name, t.role, t.last_used_at).where(
            t.token_hash == token_hash, t.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else TokenHolder(*row)


def touch_token(conn: Connection, *, token_id: int, at: datetime, not_since: datetime) -> None:
    """Record a use at `at` unless one was recorded after `not_since` (so concurrent calls write once)."""
    t = api_tokens.c
    conn.execute(
        update(api_tokens)
        .where(t.id == token_id, or_(t.last_used_at.is_(None), t.last_used_at <= not_since))
        .values(last_used_at=at)
    )
