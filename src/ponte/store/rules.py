"""An account's own error rules as stored: read for the classifier and the Rules page."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Row, select

from ponte.knowledge import AccountRule
from ponte.store.tables import error_rules


def _rule(row: Row) -> AccountRule:
    return AccountRule(row.pattern, row.category, row.connector, row.flow, id=str(row.id))


def rules_by_account(conn: Connection, *, account_ids: Iterable[int]) -> dict[int, list[AccountRule]]:
    """Every rule of these accounts, ready for `classify(account_rules=...)`."""
    found: dict[int, list[AccountRule]] = {}
    for row in conn.execute(select(error_rules).where(error_rules.c.account_id.in_(list(account_ids)))):
        found.setdefault(row.account_id, []).append(_rule(row))
    return found


def account_rules(conn: Connection, *, account_id: int) -> list[AccountRule]:
    return rules_by_account(conn, account_ids=[account_id]).get(account_id, [])


def list_rules(conn: Connection, *, account_id: int) -> list[Row]:
    return list(
        conn.execute(select(error_rules).where(error_rules.c.account_id == account_id).order_by(error_rules.c.id))
    )
