"""What the /metrics endpoint reads from the database at scrape time (ponte.metrics labels and reports it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from ponte.domain import Status
from ponte.store.tables import accounts, affiliates, drifts, integrations, status_count_deltas, status_counts


@dataclass(frozen=True)
class Named:
    """An affiliate as metrics label it."""

    id: int
    account_slug: str
    code: str
    connector: str
    kind: str
    enabled: bool


def named_affiliates(conn: Connection) -> dict[int, Named]:
    """Every affiliate of every account, by id."""
    a = affiliates.c
    query = select(a.id, accounts.c.slug, a.code, a.connector, a.kind, a.enabled).join(
        accounts, accounts.c.id == a.account_id
    )
    return {
        int(r.id): Named(int(r.id), r.slug, r.code, r.connector, r.kind, bool(r.enabled)) for r in conn.execute(query)
    }


def status_totals(conn: Connection) -> dict[tuple[int, str, int, str], int]:
    """{(account id, flow, affiliate id, status): n} over every account: the kept counters plus their pending
    deltas (rows whose sum is 0 left out)."""
    totals: dict[tuple[int, str, int, str], int] = {}
    for table, column in ((status_counts, "count"), (status_count_deltas, "delta")):
        c = table.c
        query = select(c.account_id, c.flow, c.affiliate_id, c.status, func.sum(c[column]))
        for account_id, flow, affiliate_id, status, n in conn.execute(
            query.group_by(c.account_id, c.flow, c.affiliate_id, c.status)
        ):
            key = (int(account_id), flow, int(affiliate_id), status)
            totals[key] = totals.get(key, 0) + int(n or 0)
    return {key: n for key, n in totals.items() if n}


def account_slugs(conn: Connection) -> dict[int, str]:
    return {int(r.id): r.slug for r in conn.execute(select(accounts.c.id, accounts.c.slug))}


def oldest_due_pending(conn: Connection, *, at: datetime) -> list[tuple[int, str, datetime | None]]:
    """(affiliate id, flow, the earliest due time) of pending work due by `at`."""
    i = integrations.c
    query = (
        select(i.affiliate_id, i.flow, func.min(i.due_at))
        .where(i.status == Status.PENDING.value, i.due_at <= at)
        .group_by(i.affiliate_id, i.flow)
    )
    return [(int(affiliate_id), flow, due) for affiliate_id, flow, due in conn.execute(query)]


def open_drift_counts(conn: Connection) -> list[tuple[int, str, int]]:
    """(affiliate id, kind, n) of drifts found and not resolved yet."""
    d = drifts.c
    query = select(d.affiliate_id, d.kind, func.count()).where(d.status.in_(("open", "repairing")))
    return [(int(r[0]), r[1], int(r[2])) for r in conn.execute(query.group_by(d.affiliate_id, d.kind))]
