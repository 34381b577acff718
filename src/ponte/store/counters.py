"""Exact integration counts by status without counting rows: status_counts plus pending deltas.

The counts are kept by database triggers (see migration 0002), so every path that changes an
integration's status — worker, reprocess, external reports, imports — keeps them right.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, literal_column, select, text, union_all

from ponte.store.tables import status_count_deltas, status_counts


def read_status_counts(
    conn: Connection, *, account_id: int, flow: str | None = None
) -> dict[tuple[str, int, str], int]:
    """{(flow, affiliate_id, status): count} for one account (optionally one flow)."""
    base = select(
        status_counts.c.flow, status_counts.c.affiliate_id, status_counts.c.status, status_counts.c["count"].label("n")
    ).where(status_counts.c.account_id == account_id)
    deltas = select(
        status_count_deltas.c.flow,
        status_count_deltas.c.affiliate_id,
        status_count_deltas.c.status,
        status_count_deltas.c.delta.label("n"),
    ).where(status_count_deltas.c.account_id == account_id)
    if flow:
        base = base.where(status_counts.c.flow == flow)
        deltas = deltas.where(status_count_deltas.c.flow == flow)
    both = union_all(base, deltas).subquery()
    query = select(both.c.flow, both.c.affiliate_id, both.c.status, func.sum(both.c.n)).group_by(
        both.c.flow, both.c.affiliate_id, both.c.status
    )
    return {(r[0], int(r[1]), r[2]): int(r[3]) for r in conn.execute(query) if r[3]}


FOLD_POSTGRES = text(
    """
    WITH moved AS (DELETE FROM status_count_deltas RETURNING account_id, flow, affiliate_id, status, delta)
    INSERT INTO status_counts(account_id, flow, affiliate_id, status, count)
    SELECT account_id, flow, affiliate_id, status, sum(delta) FROM moved GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (account_id, flow, affiliate_id, status) DO UPDATE SET count = status_counts.count + EXCLUDED.count
    """
)


FOLD_LOCK = 727274


def fold_status_deltas(conn: Connection) -> int:
    """Move PostgreSQL's counter deltas into status_counts; returns how many groups changed. No-op on SQLite.

    When another transaction is folding it returns 0 at once instead of waiting: the worker folds in its loop,
    and an advisory lock is shared by every schema of the database, so waiting let any long transaction holding
    it (a benchmark's consistency check in another schema) stop every worker before its next send. Skipping is
    harmless: the deltas are read as they are (`read_status_counts`) and folded at the next turn.
    """
    if conn.dialect.name != "postgresql":
        return 0
    # One folder at a time: two would both read the same deltas before either deleted them.
    if not conn.execute(select(func.pg_try_advisory_xact_lock(literal_column(str(FOLD_LOCK))))).scalar():
        return 0
    return int(conn.execute(FOLD_POSTGRES).rowcount or 0)
