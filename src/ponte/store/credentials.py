"""The credential store's rows: OAuth tokens per affiliate (sealed), who the seller is, whether it still works."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from ponte.store.db import upsert
from ponte.store.tables import affiliates, credentials

ACTIVE = "active"
REVOKED = "revoked"


@dataclass(frozen=True)
class CredentialRow:
    affiliate_id: int
    status: str
    sealed: str | None
    expires_at: datetime | None
    version: int
    subject: str | None
    identity: Mapping[str, Any] | None
    problem: str | None
    refreshed_at: datetime | None
    updated_at: datetime


def _record(row: Row[Any] | None) -> CredentialRow | None:
    if row is None:
        return None
    return CredentialRow(**{name: getattr(row, name) for name in CredentialRow.__dataclass_fields__})


def read_credentials(conn: Connection, affiliate_id: int) -> CredentialRow | None:
    return _record(conn.execute(select(credentials).where(credentials.c.affiliate_id == affiliate_id)).first())


def lock_credentials(conn: Connection, affiliate_id: int) -> CredentialRow | None:
    """The row, locked until the transaction ends: a row lock on PostgreSQL; on SQLite the write transaction
    (BEGIN IMMEDIATE) already holds the database's one write lock."""
    query = select(credentials).where(credentials.c.affiliate_id == affiliate_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return _record(conn.execute(query).first())


def credentials_of(conn: Connection, affiliate_ids: list[int]) -> dict[int, CredentialRow]:
    if not affiliate_ids:
        return {}
    rows = conn.execute(select(credentials).where(credentials.c.affiliate_id.in_(affiliate_ids)))
    return {row.affiliate_id: record for row in rows if (record := _record(row)) is not None}


def save_grant(
    conn: Connection,
    *,
    affiliate_id: int,
    sealed: str,
    expires_at: datetime | None,
    now: datetime,
    identity: tuple[str, Mapping[str, Any]] | None = None,
    refreshed: bool = False,
) -> None:
    """Keep a new token pair (version + 1). With `identity` (subject, details) also who the seller is."""
    account_id, connector = conn.execute(
        select(affiliates.c.account_id, affiliates.c.connector).where(affiliates.c.id == affiliate_id)
    ).one()
    values: dict[str, Any] = {
        "sealed": sealed,
        "expires_at": expires_at,
        "status": ACTIVE,
        "problem": None,
        "updated_at": now,
    }
    if refreshed:
        values["refreshed_at"] = now
    if identity is not None:
        values["subject"], values["identity"] = identity[0], dict(identity[1])
    stmt = upsert(conn, credentials).values(
        affiliate_id=affiliate_id, account_id=account_id, connector=connector, version=1, **values
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[credentials.c.affiliate_id], set_={**values, "version": credentials.c.version + 1}
        )
    )


def revoke_credentials(conn: Connection, *, affiliate_id: int, problem: str, now: datetime) -> None:
    conn.execute(
        update(credentials)
        .where(credentials.c.affiliate_id == affiliate_id)
        .values(status=REVOKED, problem=problem[:2000], updated_at=now)
    )


def affiliates_for_subject(conn: Connection, *, connector: str, subject: str) -> list[int]:
    """The affiliates whose connected seller is `subject` on `connector` (a notification's addressee)."""
    query = select(credentials.c.affiliate_id).where(
        credentials.c.connector == connector, credentials.c.subject == subject, credentials.c.status == ACTIVE
    )
    return [int(r) for r in conn.execute(query).scalars()]
