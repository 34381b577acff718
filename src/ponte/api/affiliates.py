"""Affiliate routes: the store's connections to marketplaces and ERPs. Secrets go in, never come out."""

from __future__ import annotations

import logging
import secrets as random
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, model_validator

from ponte.api.deps import Admin, AppSettings, Box, Db, Operator, ReaderLocale, Viewer
from ponte.api.schemas import NOT_FOUND, Strict
from ponte.clock import now
from ponte.i18n import Translator
from ponte.services import affiliates as service
from ponte.services.webhooks import SECRET_KEY as WEBHOOK_SECRET
from ponte.store import audit
from ponte.store.affiliates import Affiliate, update_affiliate

log = logging.getLogger("ponte.api")
router = APIRouter(prefix="/affiliates", tags=["affiliates"])
AffiliateId = Annotated[int, Path(ge=1, le=2**62)]


class AffiliateIn(Strict):
    code: str = Field(min_length=2, max_length=16, description="Like MLB or AMZ-BR; unique in the account")
    name: str = Field(min_length=1, max_length=200)
    connector: str = Field(min_length=1, max_length=64, description="A registered connector, e.g. sandbox")
    settings: dict[str, Any] = Field(default_factory=dict, description="The connector's settings; secrets included")
    kind: Literal["marketplace", "erp"] = "marketplace"
    enabled: bool = True
    min_availability: int | None = Field(default=None, ge=0, le=10_000_000)
    price_tolerance_pct: float = Field(default=0.0, ge=0, le=100)
    price_divergence_action: Literal["approve", "deny", "hold"] = "deny"


class AffiliateChange(Strict):
    """Only the fields given change. A secret setting left out or empty keeps its stored value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = None
    kind: Literal["marketplace", "erp"] | None = None
    enabled: bool | None = None
    min_availability: int | None = Field(default=None, ge=0, le=10_000_000)
    price_tolerance_pct: float | None = Field(default=None, ge=0, le=100)
    price_divergence_action: Literal["approve", "deny", "hold"] | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> AffiliateChange:
        """Left out, a field keeps its value; given as null, it is an error (only min_availability may be null:
        it means "always send")."""
        for name in sorted(self.model_fields_set - {"min_availability"}):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null: leave it out to keep its value")
        return self


class AffiliateOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    connector: str
    settings: dict[str, Any] = Field(description="Plain settings; each secret only shown as set (••••••) or not")
    enabled: bool
    min_availability: int | None
    price_tolerance_pct: Decimal
    price_divergence_action: str
    webhook_secret_set: bool
    created_at: datetime
    updated_at: datetime


class ConnectionTest(BaseModel):
    ok: bool
    status: str
    message: str
    code: str | None = None
    http_status: int | None = None


class WebhookSecret(BaseModel):
    webhook_secret: str = Field(description="Shown once: give it to the marketplace to sign its webhooks")


def _out(row: Affiliate, box: Any) -> AffiliateOut:
    return AffiliateOut.model_validate(
        {
            **asdict(row),
            "settings": service.public_settings(row),
            "webhook_secret_set": bool(box.open(row.secrets).get(WEBHOOK_SECRET)) if row.secrets else False,
        }
    )


@router.get("", response_model=list[AffiliateOut], summary="List the account's affiliates")
def list_affiliates(principal: Viewer, db: Db, box: Box) -> list[AffiliateOut]:
    with db.read() as conn:
        return [_out(r, box) for r in service.list_affiliates(conn, account_id=principal.account_id)]


@router.get("/{affiliate_id}", response_model=AffiliateOut, responses=NOT_FOUND, summary="Read one affiliate")
def read_affiliate(principal: Viewer, db: Db, box: Box, affiliate_id: AffiliateId) -> AffiliateOut:
    with db.read() as conn:
        return _out(service.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id), box)


@router.post("", response_model=AffiliateOut, status_code=201, summary="Register an affiliate")
def create_affiliate(principal: Admin, db: Db, box: Box, body: AffiliateIn) -> AffiliateOut:
    with db.write() as conn:
        affiliate_id = service.create_affiliate(
            conn, box=box, account_id=principal.account_id, actor=principal.actor, **body.model_dump()
        )
        return _out(service.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id), box)


@router.patch("/{affiliate_id}", response_model=AffiliateOut, responses=NOT_FOUND, summary="Change an affiliate")
def change_affiliate(
    principal: Admin, db: Db, box: Box, affiliate_id: AffiliateId, body: AffiliateChange
) -> AffiliateOut:
    changes = body.model_dump(exclude_unset=True)
    with db.write() as conn:
        service.update_affiliate(
            conn,
            box=box,
            account_id=principal.account_id,
            affiliate_id=affiliate_id,
            changes=changes,
            actor=principal.actor,
        )
        return _out(service.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id), box)


@router.post(
    "/{affiliate_id}/webhook-secret",
    response_model=WebhookSecret,
    responses=NOT_FOUND,
    summary="Create or rotate the secret marketplace webhooks are signed with (shown once)",
)
def rotate_webhook_secret(principal: Admin, db: Db, box: Box, affiliate_id: AffiliateId) -> WebhookSecret:
    secret = "whsec_" + random.token_urlsafe(32)
    with db.write() as conn:
        row = service.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id)
        sealed = box.seal({**box.open(row.secrets), WEBHOOK_SECRET: secret})
        update_affiliate(conn, affiliate_id=row.id, values={"secrets": sealed, "updated_at": now()})
        audit.record(
            conn,
            account_id=principal.account_id,
            actor=principal.actor,
            action="affiliate.webhook_secret",
            detail={"affiliate_id": affiliate_id, "code": row.code},
        )
    return WebhookSecret(webhook_secret=secret)


@router.post(
    "/{affiliate_id}/test",
    response_model=ConnectionTest,
    responses=NOT_FOUND,
    summary="Check the affiliate's settings and credentials without changing anything",
)
def test_connection(
    principal: Operator, db: Db, box: Box, settings: AppSettings, reader: ReaderLocale, affiliate_id: AffiliateId
) -> ConnectionTest:
    with db.read() as conn:
        row = service.get_affiliate(conn, account_id=principal.account_id, affiliate_id=affiliate_id)
    outcome = service.check_connection(db, box=box, settings=settings, affiliate=row)
    return ConnectionTest(
        ok=outcome.status.value in ("success", "warning"),
        status=outcome.status.value,
        message=Translator(reader).said(outcome.said, outcome.message),
        code=outcome.code,
        http_status=outcome.http_status,
    )
