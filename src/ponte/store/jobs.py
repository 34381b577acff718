"""Periodic jobs every worker shares (alert evaluation, reconciliation passes): who runs this one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from ponte.store.db import upsert
from ponte.store.tables import job_runs


def claim_run(conn: Connection, *, job: str, now: datetime, every: timedelta) -> bool:
    """Claim this run of a periodic job all workers share (alert evaluation): True for the one worker that
    finds it has not run for `every`, False for the others until then. One statement, committed by the caller."""
    stmt = upsert(conn, job_runs).values(name=job, ran_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[job_runs.c.name],
        set_={"ran_at": stmt.excluded.ran_at},
        where=job_runs.c.ran_at <= now - every,
    )
    return conn.execute(stmt.returning(job_runs.c.name)).first() is not None
