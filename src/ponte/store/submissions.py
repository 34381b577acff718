"""Submissions: batches a marketplace accepted and judges later (a feed, an import), polled by the workers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update

from ponte.store.tables import submissions

OPEN = "open"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class SubmissionRow:
    id: int
    account_id: int
    affiliate_id: int
    flow: str
    operation: str
    external_id: str
    status: str
    items: list[dict[str, Any]]  # the claims that rode in it: {id, account_id, flow, entity, seq, ref…}
    detail: dict[str, Any]
    polls: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> SubmissionRow:
        values = {name: getattr(row, name) for name in cls.__dataclass_fields__}
        values["detail"] = dict(values["detail"] or {})
        return cls(**values)


def create_submission(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int,
    flow: str,
    operation: str,
    external_id: str,
    items: Sequence[Mapping[str, Any]],
    detail: Mapping[str, Any],
    poll_at: datetime,
    now: datetime,
) -> int:
    stmt = insert(submissions).values(
        account_id=account_id,
        affiliate_id=affiliate_id,
        flow=flow,
        operation=operation,
        external_id=external_id,
        status=OPEN,
        items=[dict(item) for item in items],
        detail=dict(detail),
        next_poll_at=poll_at,
        created_at=now,
    )
    return int(conn.execute(stmt.returning(submissions.c.id)).scalar_one())


def claim_submissions(
    conn: Connection, *, owner: str, now: datetime, lease_seconds: float, limit: int, force: bool = False
) -> list[SubmissionRow]:
    """Lease open submissions whose poll is due (every open one with `force`) to `owner`."""
    s = submissions.c
    query = select(submissions).where(s.status == OPEN, or_(s.lease_until.is_(None), s.lease_until < now))
    if not force:
        query = query.where(s.next_poll_at <= now)
    query = query.order_by(s.next_poll_at).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).all()
    if rows:
        conn.execute(
            update(submissions)
            .where(s.id.in_([r.id for r in rows]))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        )
    return [SubmissionRow.from_row(r) for r in rows]


def poll_later(conn: Connection, *, submission_id: int, at: datetime, detail: Mapping[str, Any] | None) -> None:
    values: dict[str, Any] = {
        "next_poll_at": at,
        "polls": submissions.c.polls + 1,
        "lease_owner": None,
        "lease_until": None,
    }
    if detail is not None:
        values["detail"] = dict(detail)
    conn.execute(update(submissions).where(submissions.c.id == submission_id).values(values))


def finish_submission(
    conn: Connection, *, submission_id: int, status: str, now: datetime, detail: Mapping[str, Any] | None = None
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "polls": submissions.c.polls + 1,
        "lease_owner": None,
        "lease_until": None,
        "next_poll_at": None,
    }
    if detail is not None:
        values["detail"] = dict(detail)
    conn.execute(update(submissions).where(submissions.c.id == submission_id).values(values))


def open_submissions(conn: Connection, *, account_id: int, affiliate_id: int | None = None) -> list[SubmissionRow]:
    query = select(submissions).where(submissions.c.account_id == account_id, submissions.c.status == OPEN)
    if affiliate_id is not None:
        query = query.where(submissions.c.affiliate_id == affiliate_id)
    return [SubmissionRow.from_row(r) for r in conn.execute(query.order_by(submissions.c.id))]
