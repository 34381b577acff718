"""Authorisations under way: the `state` Ponte sent with the seller to the marketplace's consent page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from ponte.store.tables import oauth_states


@dataclass(frozen=True)
class PendingAuthorisation:
    state: str
    account_id: int
    affiliate_id: int
    actor: str
    sealed_verifier: str | None
    redirect_uri: str
    expires_at: datetime


def save_state(
    conn: Connection,
    *,
    state: str,
    account_id: int,
    affiliate_id: int,
    actor: str,
    sealed_verifier: str | None,
    redirect_uri: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < now))  # the abandoned ones
    conn.execute(
        insert(oauth_states).values(
            state=state,
            account_id=account_id,
            affiliate_id=affiliate_id,
            actor=actor,
            sealed_verifier=sealed_verifier,
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=expires_at,
        )
    )


def take_state(conn: Connection, *, state: str) -> PendingAuthorisation | None:
    """The authorisation `state` names, removed so that it is used once (None when unknown)."""
    row = conn.execute(select(oauth_states).where(oauth_states.c.state == state)).first()
    if row is None:
        return None
    conn.execute(delete(oauth_states).where(oauth_states.c.state == state))
    return PendingAuthorisation(
        row.state, row.account_id, row.affiliate_id, row.actor, row.sealed_verifier, row.redirect_uri, row.expires_at
    )
