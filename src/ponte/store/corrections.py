"""Operators' corrections of the knowledge base, kept as labelled examples (table knowledge_corrections)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from ponte.store.tables import knowledge_corrections


@dataclass(frozen=True)
class Correction:
    marketplace: str | None
    flow: str | None
    message: str
    code: str | None
    category: str  # what the operator's rule says
    disposition: str | None
    previous_category: str | None  # what Ponte had said
    rule_id: int | None = None
    created_by: str | None = None
    created_at: datetime | None = None


def add_corrections(conn: Connection, *, account_id: int, corrections: Sequence[Correction], now: datetime) -> None:
    """Keep corrections; one already kept (same message, marketplace, flow, code and category) is left as it was."""
    if not corrections:
        return
    rows = [
        {
            "account_id": account_id,
            "marketplace": c.marketplace or "",
            "flow": c.flow or "",
            "message": c.message,
            "message_key": hashlib.sha256(c.message.encode()).hexdigest(),
            "code": c.code or "",
            "category": c.category,
            "disposition": c.disposition,
            "previous_category": c.previous_category,
            "rule_id": c.rule_id,
            "created_by": c.created_by,
            "created_at": now,
        }
        for c in corrections
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(knowledge_corrections).on_conflict_do_nothing()
    conn.execute(statement, rows)


def list_corrections(conn: Connection, *, account_id: int) -> list[Correction]:
    """The account's corrections, oldest first."""
    t = knowledge_corrections.c
    query = select(knowledge_corrections).where(t.account_id == account_id).order_by(t.id)
    return [
        Correction(
            marketplace=row.marketplace or None,
            flow=row.flow or None,
            message=row.message,
            code=row.code or None,
            category=row.category,
            disposition=row.disposition,
            previous_category=row.previous_category,
            rule_id=row.rule_id,
            created_by=row.created_by,
            created_at=row.created_at,
        )
        for row in conn.execute(query)
    ]
