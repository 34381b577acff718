"""Monthly partitions of the attempt log on PostgreSQL, and retention on both databases.

PostgreSQL: attempts and attempt_bodies are partitioned by month of `started_at`; partitions are made
a few months ahead and dropped whole when they age out. SQLite: old rows are deleted in batches, a
transaction each.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

from ponte.clock import now
from ponte.store.db import Database

log = logging.getLogger("ponte.retention")
PARTITIONED = ("attempts", "attempt_bodies")
MONTHS_AHEAD = 3
SQLITE_BATCH = 50_000  # attempt ids the first SQLite prune transaction covers; later ones adapt
SQLITE_LOCK_SECONDS = 1.0  # how long a SQLite prune transaction may hold the write lock, about


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


def prune_attempts(db: Database, *, older_than: datetime) -> int:
    """Remove attempts started before `older_than`. Returns rows removed (PostgreSQL: rows of dropped partitions).

    PostgreSQL drops whole months in one short transaction. SQLite walks the log by id, a range per
    transaction, so that pruning a big backlog never holds the one write lock for long (about
    SQLITE_LOCK_SECONDS: workers and operators write in between) and reads the log once: choosing "the oldest
    10,000" afresh each time rescanned it.
    """
    if db.dialect == "postgresql":
        return _drop_old_partitions(db, older_than) + _prune_default(db, older_than)
    with db.read() as conn:
        first, last = conn.execute(text("SELECT min(id), max(id) FROM attempts")).one()
    removed, low, size = 0, first or 0, SQLITE_BATCH
    while low <= (last or -1):
        params = {"t": older_than, "low": low, "high": low + size}
        started = time.monotonic()
        try:
            with db.write() as conn:
                conn.execute(_DELETE_BODIES_SQLITE, params)
                removed += int(conn.execute(_DELETE_ATTEMPTS_SQLITE, params).rowcount or 0)
        except OperationalError as exc:  # a range that cannot be pruned now (locked) waits for the next run
            log.warning("pruning attempts %s to %s failed, left for the next run: %s", low, low + size, exc)
        low += size
        # Each commit rewrites the index pages it touched, and an id range touches most leaves of the
        # (integration, id) index: the fewer the transactions, the less is written twice (50,000 ids each took
        # 2.2 × a bare DELETE). So a range grows while its transaction stays well within the lock budget.
        took = time.monotonic() - started
        if took < SQLITE_LOCK_SECONDS / 2:
            size *= 2
        elif took > SQLITE_LOCK_SECONDS:
            size = max(SQLITE_BATCH, size // 2)
    return removed


_DELETE_BODIES_SQLITE = text(
    "DELETE FROM attempt_bodies WHERE attempt_id >= :low AND attempt_id < :high AND started_at < :t"
)
_DELETE_ATTEMPTS_SQLITE = text("DELETE FROM attempts WHERE id >= :low AND id < :high AND started_at < :t")


def _drop_old_partitions(db: Database, older_than: datetime) -> int:
    """Drop each whole month before the cutoff's month, a transaction each: one partition that cannot be dropped
    now (locked by a long read) is logged and left for the next run, and the others still go."""
    cutoff = _month_start(older_than)  # only whole months before the cutoff's month go
    with db.read() as conn:
        names = (
            conn.execute(
                text(
                    # The attempts table of this search_path only: one server may hold several Ponte schemas.
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'attempts'::regclass AND c.relname ~ '^attempts_[0-9]{4}_[0-9]{2}$'"
                )
            )
            .scalars()
            .all()
        )
    removed = 0
    for name in names:
        month = datetime.strptime(name.removeprefix("attempts_"), "%Y_%m").replace(tzinfo=UTC)
        if _next_month(month) > cutoff:
            continue
        try:
            with db.write() as conn:
                count = int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
                conn.execute(text(f"DROP TABLE {name}"))
                conn.execute(text(f"DROP TABLE IF EXISTS attempt_bodies_{month:%Y_%m}"))
        except DBAPIError as exc:
            log.warning("dropping the attempt partition %s failed, left for the next run: %s", name, exc)
            continue
        removed += count
    return removed


def _prune_default(db: Database, older_than: datetime) -> int:
    with db.write() as conn:
        conn.execute(text("DELETE FROM attempt_bodies_default WHERE started_at < :t"), {"t": older_than})
        return int(
            conn.execute(text("DELETE FROM attempts_default WHERE started_at < :t"), {"t": older_than}).rowcount or 0
        )
