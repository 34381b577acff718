"""The audit log: who did what in an account (reprocess, settings changes, tokens). Append-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from ponte.clock import now
from ponte.store.tables import audit_log


def record(conn: Connection, *, account_id: int, actor: str, action: str, detail: dict[str, Any]) -> int:
    """Append one entry; `detail` is stored as JSON (values that are not JSON become strings)."""
    safe = orjson.loads(orjson.dumps(detail, default=str))
    stmt = insert(audit_log).values(account_id=account_id, actor=actor, action=action, detail=safe, created_at=now())
    return int(conn.execute(stmt.returning(audit_log.c.id)).scalar_one())


def list_entries(
    conn: Connection, *, account_id: int, limit: int = 100, before_id: int | None = None, action: str | None = None
) -> list[AuditRecord]:
    """The account's entries, newest first; page with `before_id` (the last id of the previous page)."""
    query = select(audit_log).where(audit_log.c.account_id == account_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if action:
        query = query.where(audit_log.c.action == action)
    return [AuditRecord(**row._mapping) for row in conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))]


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the audit log."""

    id: int
    account_id: int
    actor: str
    action: str
    detail: dict[str, Any]
    created_at: datetime
