"""Account routes: API tokens (admin), the audit log (admin), summary counts and error explanations."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ponte.api.deps import Admin, Db, Viewer
from ponte.api.schemas import NOT_FOUND, Strict
from ponte.domain import Flow, Role
from ponte.knowledge import classify, explanation_json, with_marketplace_help
from ponte.services import connections, tokens
from ponte.store import audit
from ponte.store.queries import status_counts
from ponte.store.rules import account_rules

router = APIRouter()


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100, description="What uses it, e.g. 'ERP sync'")
    role: Role = Role.OPERATOR


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The first characters, to recognise it; the token itself is never shown again")
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    id: int
    token: str = Field(description="Shown once: store it now")
    prefix: str
    role: str


class AuditEntry(BaseModel):
    id: int
    actor: str
    action: str
    detail: dict[str, Any]
    created_at: datetime


class SummaryLine(BaseModel):
    flow: str
    affiliate: str
    status: str
    count: int


class Summary(BaseModel):
    lines: list[SummaryLine] = Field(description="Integrations per flow × affiliate × status")
    errors_by_flow: dict[str, int]


class ExplainIn(Strict):
    message: str = Field(min_length=1, max_length=4000)
    connector: str | None = Field(default=None, max_length=64, description="Connector or marketplace profile")
    flow: Flow | None = None
    http_status: int | None = Field(default=None, ge=100, le=599)
    code: str | None = Field(default=None, max_length=120)


class ExplanationOut(BaseModel):
    category: str
    disposition: str
    fix: dict[str, str]
    help: str
    title: dict[str, str]
    rule: str | None
    contact: dict[str, str]
    confidence: float = Field(description="1 for a rule or a documented code; the model's probability otherwise")
    likely: bool = Field(description='A low-confidence guess from the wording: show it as "likely" ("provável")')


@router.get("/tokens", response_model=list[TokenOut], tags=["account"], summary="The account's API tokens")
def list_tokens(principal: Admin, db: Db, include_revoked: Annotated[bool, Query()] = False) -> list[TokenOut]:
    with db.read() as conn:
        rows = tokens.list_tokens(conn, account_id=principal.account_id, include_revoked=include_revoked)
    return [TokenOut.model_validate(asdict(r)) for r in rows]


@router.post("/tokens", response_model=TokenCreated, status_code=201, tags=["account"], summary="Create a token")
def create_token(principal: Admin, db: Db, body: TokenIn) -> TokenCreated:
    with db.write() as conn:
        made = tokens.create_token(
            conn, account_id=principal.account_id, name=body.name, role=body.role, actor=principal.actor
        )
    return TokenCreated(id=made.id, token=made.token, prefix=made.prefix, role=body.role.value)


@router.delete(
    "/tokens/{token_id}", status_code=204, responses=NOT_FOUND, tags=["account"], summary="Revoke a token at once"
)
def revoke_token(principal: Admin, db: Db, token_id: Annotated[int, Path(ge=1, le=2**62)]) -> None:
    with db.write() as conn:
        tokens.revoke_token(conn, account_id=principal.account_id, token_id=token_id, actor=principal.actor)


@router.get("/audit", response_model=list[AuditEntry], tags=["account"], summary="Who did what, newest first")
def audit_log(
    principal: Admin,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="Last id of the previous page")] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AuditEntry]:
    with db.read() as conn:
        rows = audit.list_entries(
            conn, account_id=principal.account_id, limit=limit, before_id=before_id, action=action
        )
    return [AuditEntry.model_validate(asdict(r)) for r in rows]


@router.get("/summary", response_model=Summary, tags=["integrations"], summary="Counts per flow, affiliate, status")
def summary(principal: Viewer, db: Db) -> Summary:
    with db.read() as conn:
        lines = status_counts(conn, account_id=principal.account_id)
        errors = connections.flow_error_counts(conn, account_id=principal.account_id)
    return Summary(
        lines=[SummaryLine(flow=f, affiliate=a, status=s, count=c) for f, a, s, c in lines], errors_by_flow=errors
    )


@router.post("/explain", response_model=ExplanationOut, tags=["integrations"], summary="Explain an error message")
def explain(principal: Viewer, db: Db, body: ExplainIn) -> ExplanationOut:
    """The category, whether it fixes itself, what to do (pt-BR and English) and the help article."""
    with db.read() as conn:
        own_rules = account_rules(conn, account_id=principal.account_id)
    explanation = classify(
        connector=body.connector,
        flow=body.flow.value if body.flow else None,
        message=body.message,
        http_status=body.http_status,
        code=body.code,
        account_rules=own_rules,
    )
    return ExplanationOut.model_validate(explanation_json(with_marketplace_help(explanation, body.connector)))
