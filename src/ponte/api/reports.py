"""External attempt reports: `POST /attempts` with an Idempotency-Key, so a retried batch is recorded once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from ponte.api.deps import AppSettings, Db, Operator
from ponte.api.problems import Problem
from ponte.api.schemas import Strict, problems
from ponte.domain.messages import say
from ponte.services import external
from ponte.services.external import MAX_BATCH, ExternalAttempt

router = APIRouter(tags=["integrations"])
REPLAY_HEADER = "Idempotent-Replayed"


class AttemptBatch(Strict):
    attempts: list[ExternalAttempt] = Field(min_length=1, max_length=MAX_BATCH)


class ReportItem(BaseModel):
    index: int
    entity: str
    ok: bool
    integration_id: int | None = None
    attempt_id: int | None = None
    error: str | None = None
    field: str | None = None


class ReportResult(BaseModel):
    recorded: int
    rejected: int
    items: list[ReportItem]


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=150,
        pattern=r"^[\x21-\x7e]+$",
        description="Unique per batch (a UUID, say). Sending the same batch again with it records nothing new.",
    ),
]


@router.post(
    "/attempts",
    response_model=ReportResult,
    summary="Report attempts made outside Ponte (batch, idempotent)",
    responses=problems((409, "The same key is being recorded right now; retry shortly")),
)
def report_attempts(
    principal: Operator, db: Db, settings: AppSettings, batch: AttemptBatch, key: IdempotencyKey, response: Response
) -> Any:
    """Items with an unknown affiliate or a future date are refused one by one; the others are recorded.
    They show in Connections with trigger `external`; errors are classified by the knowledge base."""
    digest = external.fingerprint(batch.attempts)
    try:
        with db.write() as conn:
            stored = external.find_batch(conn, account_id=principal.account_id, key=key)
            if stored is None:
                external.reserve_batch(conn, account_id=principal.account_id, key=key, digest=digest)
                outcomes = external.record_attempts(
                    conn,
                    account_id=principal.account_id,
                    actor=principal.actor,
                    items=batch.attempts,
                    body_limit=settings.body_limit,
                )
                result = _result(outcomes)
                external.finish_batch(
                    conn, account_id=principal.account_id, key=key, digest=digest, result=result.model_dump()
                )
                return result
    except IntegrityError:  # a concurrent request with the same key won the reservation
        with db.read() as conn:
            stored = external.find_batch(conn, account_id=principal.account_id, key=key)
        if stored is None or not stored.get("done"):
            raise Problem(409, say("msg.api.batch_in_progress"))
    if stored.get("fingerprint") != digest:
        raise Problem(422, say("msg.api.batch_key_reused"), field="Idempotency-Key")
    response.headers[REPLAY_HEADER] = "true"
    return ReportResult.model_validate(stored["response"])


def _result(outcomes: list[external.ItemOutcome]) -> ReportResult:
    items = [ReportItem.model_validate(o, from_attributes=True) for o in outcomes]
    recorded = sum(1 for i in items if i.ok)
    return ReportResult(recorded=recorded, rejected=len(items) - recorded, items=items)
