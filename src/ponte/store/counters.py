"""Exact integration counts by status, and errors by cause, without counting rows: the kept counts plus
pending deltas.

The counts are kept by database triggers (migrations 0002 and 0006), so every path that changes an
integration's status — worker, reprocess, external reports, imports — keeps them right.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, TextClause, func, literal_column, select, text, union_all

from ponte.store.tables import cause_count_deltas, cause_counts, status_count_deltas, status_counts


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


def read_cause_counts(
    conn: Connection, *, account_id: int, flows: Sequence[str] = (), categories: Sequence[str] = ()
) -> dict[tuple[str, str, str, int], int]:
    """{(category, cause, flow, affiliate_id): errors} for one account; '' stands for no category or cause."""
    c, d = cause_counts.c, cause_count_deltas.c
    base = select(c.category, c.cause, c.flow, c.affiliate_id, c["count"].label("n")).where(c.account_id == account_id)
    deltas = select(d.category, d.cause, d.flow, d.affiliate_id, d.delta.label("n")).where(d.account_id == account_id)
    if flows:
        base, deltas = base.where(c.flow.in_(flows)), deltas.where(d.flow.in_(flows))
    if categories:
        base, deltas = base.where(c.category.in_(categories)), deltas.where(d.category.in_(categories))
    both = union_all(base, deltas).subquery()
    keys = (both.c.category, both.c.cause, both.c.flow, both.c.affiliate_id)
    query = select(*keys, func.sum(both.c.n)).group_by(*keys)
    return {(r[0], r[1], r[2], int(r[3])): int(r[4]) for r in conn.execute(query) if r[4]}


def _fold(table: str, key: str) -> TextClause:
    return text(
        f"""
        WITH moved AS (DELETE FROM {table}_deltas RETURNING {key}, delta)
        INSERT INTO {table}s({key}, count)
        SELECT {key}, sum(delta) FROM moved GROUP BY {key} ORDER BY {key}
        ON CONFLICT ({key}) DO UPDATE SET count = {table}s.count + EXCLUDED.count
        """
    )


FOLD_POSTGRES = (
    _fold("status_count", "account_id, flow, affiliate_id, status"),
    _fold("cause_count", "account_id, flow, affiliate_id, category, cause"),
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
    return sum(int(conn.execute(fold).rowcount or 0) for fold in FOLD_POSTGRES)
