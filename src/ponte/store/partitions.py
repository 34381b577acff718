"""Monthly partitions of the attempt log on PostgreSQL, and retention on both databases.

PostgreSQL: attempts and attempt_bodies are partitioned by month of `started_at`; partitions are made
a few months ahead and dropped whole when they age out. SQLite: old rows are deleted in batches.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, select, text

from ponte.clock import now
from ponte.store.tables import attempt_bodies, attempts

PARTITIONED = ("attempts", "attempt_bodies")
MONTHS_AHEAD = 3
SQLITE_BATCH = 10_000


def _month_start(when: datetime) -> datetime:
    return datetime(when.year, when.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return _month_start(start + timedelta(days=32))


def create_month_partitions(conn: Connection, *, ahead: int = MONTHS_AHEAD, at: datetime | None = None) -> list[str]:
    """Make this month's and the next `ahead` months' partitions where missing (PostgreSQL). Returns new names."""
    if conn.dialect.name != "postgresql":
        return []
    made = []
    start = _month_start(at or now())
    for _ in range(ahead + 1):
        end = _next_month(start)
        for table in PARTITIONED:
            name = f"{table}_{start:%Y_%m}"
            exists = conn.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar()
            if exists is None:
                conn.execute(
                    text(
                        f"CREATE TABLE {name} PARTITION OF {table} "
                        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                    )
                )
                made.append(name)
        start = end
    return made


def prune_attempts(conn: Connection, *, older_than: datetime) -> int:
    """Remove attempts started before `older_than`. Returns rows removed (PostgreSQL: rows of dropped partitions)."""
    if conn.dialect.name == "postgresql":
        return _drop_old_partitions(conn, older_than) + _prune_default(conn, older_than)
    removed = 0
    while True:
        ids = select(attempts.c.id).where(attempts.c.started_at < older_than).limit(SQLITE_BATCH)
        batch = [r.id for r in conn.execute(ids)]
        if not batch:
            return removed
        conn.execute(delete(attempt_bodies).where(attempt_bodies.c.attempt_id.in_(batch)))
        removed += conn.execute(delete(attempts).where(attempts.c.id.in_(batch))).rowcount or 0


def _drop_old_partitions(conn: Connection, older_than: datetime) -> int:
    cutoff = _month_start(older_than)  # only whole months before the cutoff's month go
    removed = 0
    rows = conn.execute(
        text(
            # The attempts table of this search_path only: one server may hold several Ponte schemas.
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'attempts'::regclass AND c.relname ~ '^attempts_[0-9]{4}_[0-9]{2}$'"
        )
    ).scalars()
    for name in rows:
        month = datetime.strptime(name.removeprefix("attempts_"), "%Y_%m").replace(tzinfo=UTC)
        if _next_month(month) <= cutoff:
            removed += int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
            conn.execute(text(f"DROP TABLE {name}"))
            conn.execute(text(f"DROP TABLE IF EXISTS attempt_bodies_{month:%Y_%m}"))
    return removed


def _prune_default(conn: Connection, older_than: datetime) -> int:
    conn.execute(text("DELETE FROM attempt_bodies_default WHERE started_at < :t"), {"t": older_than})
    return int(
        conn.execute(text("DELETE FROM attempts_default WHERE started_at < :t"), {"t": older_than}).rowcount or 0
    )
