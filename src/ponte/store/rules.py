"""An account's own error rules as stored: read for the classifier and the Rules page."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from ponte.domain import Status
from ponte.knowledge import AccountRule
from ponte.store.tables import affiliates, error_rules, integrations


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


def list_rules(conn: Connection, *, account_id: int) -> list[StoredRule]:
    """The account's rules in id order."""
    query = select(error_rules).where(error_rules.c.account_id == account_id).order_by(error_rules.c.id)
    return [StoredRule(**row._mapping) for row in conn.execute(query)]


# -- the Rules page and re-classification -------------------------------------------------------------


@dataclass(frozen=True)
class StoredRule:
    """An account's rule as stored (what the Rules page and the API show)."""

    id: int
    account_id: int
    pattern: str
    category: str
    connector: str | None
    flow: str | None
    created_by: str | None
    created_at: datetime


class CurrentError(NamedTuple):
    """An integration in error, as re-classifying reads it (a tuple: a big store streams a hundred thousand)."""

    id: int
    affiliate_id: int
    flow: str
    message: str | None
    message_key: str | None
    message_params: Any
    code: str | None
    category: str | None


@dataclass(frozen=True)
class Reclassified:
    """An integration's new classification."""

    integration_id: int
    category: str | None
    disposition: str
    cause: str
    search_text: str | None


def insert_rule(
    conn: Connection,
    *,
    account_id: int,
    pattern: str,
    category: str,
    connector: str | None,
    flow: str | None,
    created_by: str,
    created_at: datetime,
) -> int:
    stmt = insert(error_rules).values(
        account_id=account_id,
        pattern=pattern,
        category=category,
        connector=connector,
        flow=flow,
        created_by=created_by,
        created_at=created_at,
    )
    return int(conn.execute(stmt.returning(error_rules.c.id)).scalar_one())


def delete_rule(conn: Connection, *, account_id: int, rule_id: int) -> bool:
    """Whether the account had the rule (and now has not)."""
    gone = conn.execute(delete(error_rules).where(error_rules.c.account_id == account_id, error_rules.c.id == rule_id))
    return bool(gone.rowcount)


def error_messages(conn: Connection, *, account_id: int, limit: int) -> list[tuple[str, str, int]]:
    """(message, flow, n) of the account's current errors, the `limit` most frequent first."""
    i = integrations.c
    rows = conn.execute(
        select(i.message, i.flow, func.count().label("n"))
        .where(i.account_id == account_id, i.status == Status.ERROR.value, i.message.is_not(None))
        .group_by(i.message, i.flow)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [(r.message, r.flow, int(r.n)) for r in rows]


def current_errors(conn: Connection, *, account_id: int) -> Iterator[CurrentError]:
    """The account's integrations in error, streamed."""
    i = integrations.c
    rows = conn.execute(
        select(i.id, i.affiliate_id, i.flow, i.message, i.message_key, i.message_params, i.code, i.category).where(
            i.account_id == account_id, i.status == Status.ERROR.value
        )
    )
    return (CurrentError._make(row) for row in rows)


def reclassify(conn: Connection, changes: Sequence[Reclassified]) -> None:
    """Write the new classifications, in one executemany."""
    if not changes:
        return
    conn.execute(
        update(integrations)
        .where(integrations.c.id == bindparam("row_id"))
        .values(
            category=bindparam("new_category"),
            disposition=bindparam("new_disposition"),
            cause=bindparam("new_cause"),
            search_text=bindparam("new_search"),
        ),
        [
            {
                "row_id": c.integration_id,
                "new_category": c.category,
                "new_disposition": c.disposition,
                "new_cause": c.cause,
                "new_search": c.search_text,
            }
            for c in changes
        ],
    )


def affiliate_marketplaces(conn: Connection, *, account_id: int) -> dict[int, str]:
    """{affiliate id: the marketplace whose error vocabulary it speaks} of the account."""
    query = select(affiliates.c.id, affiliates.c.marketplace).where(affiliates.c.account_id == account_id)
    return {r.id: r.marketplace for r in conn.execute(query)}


def affiliate_marketplace(conn: Connection, *, account_id: int, affiliate_id: int) -> str | None:
    query = select(affiliates.c.marketplace).where(
        affiliates.c.account_id == account_id, affiliates.c.id == affiliate_id
    )
    return conn.execute(query).scalar()
