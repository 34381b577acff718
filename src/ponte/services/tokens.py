"""API tokens: one per integration or script, with a role. The token is shown once; only its hash is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ponte.auth import Principal, hash_token, new_token
from ponte.clock import now
from ponte.domain import Role
from ponte.domain.messages import say
from ponte.services.errors import InputError, NotFound
from ponte.store import audit
from ponte.store import tokens as store
from ponte.store.tokens import TokenInfo

# last_used_at is informative; writing it on every call would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str  # the only time the clear token exists outside the caller's hands
    prefix: str


def create_token(conn: Connection, *, account_id: int, name: str, role: Role, actor: str) -> NewToken:
    """Create a token for the account; the clear token is in the result and nowhere else."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError(say("msg.input.length", field="name", low=1, high=100), field="name")
    token = new_token()
    prefix = token[:10]
    token_id = store.insert_token(
        conn,
        account_id=account_id,
        name=name,
        prefix=prefix,
        token_hash=hash_token(token),
        role=role.value,
        created_at=now(),
    )
    audit.record(
        conn,
        account_id=account_id,
        actor=actor,
        action="token.create",
        detail={"token_id": token_id, "name": name, "role": role.value, "prefix": prefix},
    )
    return NewToken(token_id, token, prefix)


def list_tokens(conn: Connection, *, account_id: int, include_revoked: bool = False) -> list[TokenInfo]:
    """The account's tokens (never their hashes), oldest first."""
    return store.list_tokens(conn, account_id=account_id, include_revoked=include_revoked)


def revoke_token(conn: Connection, *, account_id: int, token_id: int, actor: str) -> None:
    """Revoke a token of the account at once. Revoking twice is harmless; another account's id is NotFound."""
    row = store.find_token(conn, account_id=account_id, token_id=token_id)
    if row is None:
        raise NotFound(say("msg.not_found.token", id=token_id))
    if row.revoked_at is None:
        store.revoke_token(conn, token_id=token_id, at=now())
        audit.record(
            conn,
            account_id=account_id,
            actor=actor,
            action="token.revoke",
            detail={"token_id": token_id, "name": row.name},
        )


def principal_for_token(conn: Connection, *, token: str) -> tuple[Principal, int, datetime | None] | None:
    """The caller a token stands for, with the token's id and last use; None when unknown or revoked."""
    row = store.live_token(conn, token_hash=hash_token(token))
    if row is None:
        return None
    return (
        Principal(account_id=row.account_id, actor=f"token:{row.name}", role=Role(row.role)),
        row.id,
        row.last_used_at,
    )


def needs_touch(last_used_at: datetime | None, when: datetime | None = None) -> bool:
    return last_used_at is None or (when or now()) - last_used_at >= LAST_USED_RESOLUTION


def touch(conn: Connection, *, token_id: int, when: datetime | None = None) -> None:
    """Record a use, at most once per LAST_USED_RESOLUTION (the condition makes concurrent calls write once)."""
    moment = when or now()
    store.touch_token(conn, token_id=token_id, at=moment, not_since=moment - LAST_USED_RESOLUTION)
