"""The Overview page's queries: attempts per affiliate × flow (× hour), and the pending work due the longest.

Each is scoped to one account and bounded: attempts through the (account_id, started_at) index over a time
range, pending work through the queue index (status, due_at) with a LIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, literal_column, select

from ponte.domain import Status
from ponte.store.tables import affiliates, attempts, integrations


@dataclass(frozen=True)
class AttemptCount:
    """How many attempts of one flow and affiliate (in one hour, when counted by hour) ended in `status`."""

    flow: str
    affiliate_id: int
    hour: datetime | None
    status: str
    n: int


@dataclass(frozen=True)
class PendingItem:
    id: int
    flow: str
    entity: str
    affiliate_code: str
    due_at: datetime
    attempt_count: int
    message: str | None


@dataclass(frozen=True)
class AffiliateName:
    id: int
    code: str
    name: str


def _hour_bucket(conn: Connection) -> Any:
    """started_at truncated to the hour, as something `_as_hour` can read, on SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        return func.date_trunc(literal_column("'hour'"), func.timezone(literal_column("'UTC'"), attempts.c.started_at))
    return func.strftime("%Y-%m-%d %H:00:00", attempts.c.started_at)


def _as_hour(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def attempt_counts(
    conn: Connection, *, account_id: int, since: datetime, hourly: bool, until: datetime | None = None
) -> list[AttemptCount]:
    """The account's attempts in [since, until] counted by flow, affiliate, [hour (UTC),] status (index range)."""
    columns = [integrations.c.flow, integrations.c.affiliate_id, attempts.c.status]
    if hourly:
        columns.insert(2, _hour_bucket(conn).label("hour"))
    query = (
        select(*columns, func.count().label("n"))
        .join(integrations, integrations.c.id == attempts.c.integration_id)
        .where(attempts.c.account_id == account_id, attempts.c.started_at >= since)
        .group_by(*columns)
    )
    if until is not None:
        query = query.where(attempts.c.started_at <= until)
    return [
        AttemptCount(r.flow, int(r.affiliate_id), _as_hour(r.hour) if hourly else None, r.status, int(r.n))
        for r in conn.execute(query)
    ]


def oldest_due(conn: Connection, *, account_id: int, now: datetime) -> dict[tuple[str, int], datetime]:
    """{(flow, affiliate id): the due time of its oldest pending integration due by `now`}."""
    i = integrations.c
    query = (
        select(i.flow, i.affiliate_id, func.min(i.due_at))
        .where(i.account_id == account_id, i.status == Status.PENDING.value, i.due_at <= now)
        .group_by(i.flow, i.affiliate_id)
    )
    return {(r[0], int(r[1])): r[2] for r in conn.execute(query) if r[2] is not None}


def oldest_pending(conn: Connection, *, account_id: int, now: datetime, limit: int) -> list[PendingItem]:
    """The pending integrations that have been due the longest (the queue index: status, due_at)."""
    i = integrations.c
    query = (
        select(i.id, i.flow, i.entity, affiliates.c.code, i.due_at, i.attempt_count, i.message)
        .join(affiliates, affiliates.c.id == i.affiliate_id)
        .where(i.account_id == account_id, i.status == Status.PENDING.value, i.due_at <= now)
        .order_by(i.due_at, i.id)
        .limit(limit)
    )
    return [
        PendingItem(r.id, r.flow, r.entity, r.code, r.due_at, r.attempt_count, r.message) for r in conn.execute(query)
    ]


def affiliate_names(conn: Connection, *, account_id: int) -> dict[int, AffiliateName]:
    query = select(affiliates.c.id, affiliates.c.code, affiliates.c.name).where(affiliates.c.account_id == account_id)
    return {int(r.id): AffiliateName(int(r.id), r.code, r.name) for r in conn.execute(query)}
