"""Alert routes: rules (viewer reads, admin writes), channels (secrets go in, never come out), incidents."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from ponte.alerts import channels as channel_service
from ponte.alerts import incidents as incident_service
from ponte.alerts import rules as service
from ponte.api.deps import Admin, Box, Db, Viewer
from ponte.api.schemas import NOT_FOUND, Strict

router = APIRouter(prefix="/alerts", tags=["alerts"])
ItemId = Annotated[int, Path(ge=1, le=2**62)]
Kind = Literal["error_rate", "quiet_orders", "pending_age", "credentials", "stock_drift"]
FlowName = Literal["order", "product", "tracking", "price", "inventory"]


class RuleIn(Strict):
    kind: Kind
    flow: FlowName | None = Field(default=None, description="None: every flow")
    affiliate_id: int | None = Field(default=None, ge=1, le=2**62, description="None: every affiliate")
    threshold: float | None = Field(
        default=None, description="error_rate: percent of errors; quiet_orders: times the usual gap"
    )
    window_minutes: int | None = Field(
        default=None, description="error_rate: window; pending_age: max age; quiet_orders: floor"
    )
    min_count: int | None = Field(default=None, description="error_rate: attempts needed before a rate counts")
    enabled: bool = True


class RuleChange(Strict):
    """Only the fields given change; the kind never does."""

    flow: FlowName | None = None
    affiliate_id: int | None = Field(default=None, ge=1, le=2**62)
    threshold: float | None = None
    window_minutes: int | None = None
    min_count: int | None = None
    enabled: bool | None = None


class RuleOut(BaseModel):
    id: int
    kind: str
    flow: str | None
    affiliate_id: int | None
    threshold: float | None
    window_minutes: int | None
    min_count: int | None
    enabled: bool
    builtin: bool = Field(description="A default rule: it can be switched off, not deleted")
    created_at: datetime
    updated_at: datetime


class ChannelIn(Strict):
    kind: Literal["email", "webhook"]
    name: str = Field(min_length=1, max_length=100)
    locale: Literal["pt-BR", "en", "es"] = "pt-BR"
    enabled: bool = True
    host: str | None = Field(default=None, max_length=255, description="email: SMTP server")
    port: int | None = Field(default=None, ge=1, le=65535)
    from_addr: str | None = Field(default=None, max_length=254)
    to: list[str] | None = Field(default=None, max_length=50, description="email: recipients")
    starttls: bool = False
    username: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, max_length=500, description="email: SMTP password (write-only)")
    url: str | None = Field(default=None, max_length=2000, description="webhook: the URL to POST to (write-only)")


class ChannelOut(BaseModel):
    id: int
    kind: str
    name: str
    locale: str
    enabled: bool
    settings: dict[str, Any] = Field(description="Plain settings; secrets (password, webhook URL) are never shown")
    secret_set: bool
    created_at: datetime


class MessageOut(BaseModel):
    id: int
    channel_id: int
    event: str
    subject: str
    status: str
    tries: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None


class IncidentOut(BaseModel):
    id: int
    rule_id: int
    kind: str
    flow: str | None
    affiliate_id: int | None
    affiliate_code: str | None
    status: str
    facts: dict[str, Any]
    opened_at: datetime
    last_seen_at: datetime
    notified_at: datetime | None
    resolved_at: datetime | None
    messages: list[MessageOut]


@router.get("/rules", response_model=list[RuleOut], summary="List the account's alert rules (defaults included)")
def list_rules(principal: Viewer, db: Db) -> list[RuleOut]:
    with db.write() as conn:  # an account's first look seeds its default rules
        return [
            RuleOut.model_validate(r, from_attributes=True)
            for r in service.list_rules(conn, account_id=principal.account_id)
        ]


@router.get("/rules/{rule_id}", response_model=RuleOut, responses=NOT_FOUND, summary="Read one alert rule")
def read_rule(principal: Viewer, db: Db, rule_id: ItemId) -> RuleOut:
    with db.read() as conn:
        rule = service.get_rule(conn, account_id=principal.account_id, rule_id=rule_id)
    return RuleOut.model_validate(rule, from_attributes=True)


@router.post("/rules", response_model=RuleOut, status_code=201, summary="Add an alert rule")
def create_rule(principal: Admin, db: Db, body: RuleIn) -> RuleOut:
    with db.write() as conn:
        rule = service.create_rule(conn, account_id=principal.account_id, **body.model_dump())
    return RuleOut.model_validate(rule, from_attributes=True)


@router.patch("/rules/{rule_id}", response_model=RuleOut, responses=NOT_FOUND, summary="Change an alert rule")
def change_rule(principal: Admin, db: Db, rule_id: ItemId, body: RuleChange) -> RuleOut:
    with db.write() as conn:
        rule = service.update_rule(
            conn, account_id=principal.account_id, rule_id=rule_id, changes=body.model_dump(exclude_unset=True)
        )
    return RuleOut.model_validate(rule, from_attributes=True)


@router.delete("/rules/{rule_id}", status_code=204, responses=NOT_FOUND, summary="Delete an added alert rule")
def delete_rule(principal: Admin, db: Db, rule_id: ItemId) -> Response:
    with db.write() as conn:
        service.delete_rule(conn, account_id=principal.account_id, rule_id=rule_id)
    return Response(status_code=204)


@router.get("/channels", response_model=list[ChannelOut], summary="List where alerts are sent")
def list_channels(principal: Viewer, db: Db) -> list[ChannelOut]:
    with db.read() as conn:
        rows = channel_service.list_channels(conn, account_id=principal.account_id)
    return [ChannelOut.model_validate(channel_service.public(r)) for r in rows]


@router.post("/channels", response_model=ChannelOut, status_code=201, summary="Add an e-mail or webhook channel")
def create_channel(principal: Admin, db: Db, box: Box, body: ChannelIn) -> ChannelOut:
    values = body.model_dump(exclude={"kind", "name", "locale", "enabled"})
    with db.write() as conn:
        channel_id = channel_service.create_channel(
            conn,
            box=box,
            account_id=principal.account_id,
            kind=body.kind,
            name=body.name,
            values=values,
            locale=body.locale,
            enabled=body.enabled,
        )
        row = channel_service.get_channel(conn, account_id=principal.account_id, channel_id=channel_id)
    return ChannelOut.model_validate(channel_service.public(row))


@router.delete("/channels/{channel_id}", status_code=204, responses=NOT_FOUND, summary="Remove a channel")
def delete_channel(principal: Admin, db: Db, channel_id: ItemId) -> Response:
    with db.write() as conn:
        channel_service.delete_channel(conn, account_id=principal.account_id, channel_id=channel_id)
    return Response(status_code=204)


@router.get("/incidents", response_model=list[IncidentOut], summary="Alert history: incidents and their messages")
def list_incidents(
    principal: Viewer,
    db: Db,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentOut]:
    with db.read() as conn:
        rows = incident_service.list_incidents(conn, account_id=principal.account_id, limit=limit, status=status)
        messages = incident_service.list_messages(
            conn, account_id=principal.account_id, incident_ids=[r.id for r in rows]
        )
    return [
        IncidentOut.model_validate(
            {
                **asdict(r),
                "messages": [MessageOut.model_validate(m, from_attributes=True) for m in messages.get(r.id, [])],
            }
        )
        for r in rows
    ]
