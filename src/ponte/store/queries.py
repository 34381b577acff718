"""Read queries shared by the pages, the API and the CLI."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from ponte.domain import Status
from ponte.store.counters import read_status_counts
from ponte.store.tables import affiliates, integrations


def status_counts(conn: Connection, *, account_id: int) -> list[tuple[str, str, str, int]]:
    """(flow, affiliate code, status, count) for one account, from the kept counters."""
    codes = dict(
        conn.execute(select(affiliates.c.id, affiliates.c.code).where(affiliates.c.account_id == account_id)).all()
    )
    counts = read_status_counts(conn, account_id=account_id)
    return sorted((flow, codes.get(aff, str(aff)), status, n) for (flow, aff, status), n in counts.items() if n)


def count_pending(conn: Connection) -> int:
    """How many integrations wait for a worker, over every account."""
    query = select(func.count()).select_from(integrations).where(integrations.c.status == Status.PENDING.value)
    return int(conn.execute(query).scalar_one())
