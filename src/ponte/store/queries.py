"""Read queries shared by the pages, the API and the CLI."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from ponte.store.tables import affiliates, integrations


def status_counts(conn: Connection, *, account_id: int) -> list[tuple[str, str, str, int]]:
    """(flow, affiliate code, status, count) for one account."""
    i = integrations.c
    query = (
        select(i.flow, affiliates.c.code, i.status, func.count())
        .join(affiliates, affiliates.c.id == i.affiliate_id)
        .where(i.account_id == account_id)
        .group_by(i.flow, affiliates.c.code, i.status)
        .order_by(i.flow, affiliates.c.code, i.status)
    )
    return [(r[0], r[1], r[2], int(r[3])) for r in conn.execute(query)]
