"""The account's own error rules: "this message pattern means this category", applied at once to the
errors already shown and to every attempt from now on."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from ponte.api.deps import Db, Operator, Viewer
from ponte.api.schemas import NOT_FOUND, Strict
from ponte.domain import Flow
from ponte.services import rules
from ponte.store import rules as stored_rules

router = APIRouter(prefix="/rules", tags=["knowledge"])


class RuleIn(Strict):
    pattern: str = Field(
        min_length=1, max_length=500, description="Regular expression, matched case- and accent-insensitively"
    )
    category: str = Field(min_length=1, max_length=40, description="One of the knowledge base's categories")
    connector: str | None = Field(default=None, max_length=64, description="Only for this marketplace or connector")
    flow: Flow | None = Field(default=None, description="Only for this flow")


class RuleOut(BaseModel):
    id: int
    pattern: str
    category: str
    connector: str | None
    flow: str | None
    created_by: str | None
    created_at: datetime


class RuleCreated(RuleOut):
    reclassified: int = Field(description="How many current errors changed category with this rule")


@router.get("", response_model=list[RuleOut], summary="The account's own error rules")
def list_rules(principal: Viewer, db: Db) -> list[RuleOut]:
    with db.read() as conn:
        return [
            RuleOut.model_validate(asdict(r)) for r in stored_rules.list_rules(conn, account_id=principal.account_id)
        ]


@router.post("", response_model=RuleCreated, status_code=201, summary="Add a rule and re-classify current errors")
def add_rule(principal: Operator, db: Db, body: RuleIn) -> RuleCreated:
    with db.write() as conn:
        rule_id = rules.add_rule(
            conn,
            account_id=principal.account_id,
            actor=principal.actor,
            pattern=body.pattern,
            category=body.category,
            connector=body.connector,
            flow=body.flow.value if body.flow else None,
        )
        changed = rules.reclassify_errors(conn, account_id=principal.account_id, actor=principal.actor)
        row = next(r for r in stored_rules.list_rules(conn, account_id=principal.account_id) if r.id == rule_id)
    return RuleCreated.model_validate({**asdict(row), "reclassified": changed})


@router.delete("/{rule_id}", status_code=204, responses=NOT_FOUND, summary="Remove a rule")
def delete_rule(principal: Operator, db: Db, rule_id: Annotated[int, Path(ge=1, le=2**62)]) -> None:
    with db.write() as conn:
        rules.delete_rule(conn, account_id=principal.account_id, actor=principal.actor, rule_id=rule_id)
