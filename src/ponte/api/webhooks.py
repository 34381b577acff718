"""Marketplace webhooks: orders pushed by a marketplace, authenticated by HMAC signature, never twice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from ponte.api.deps import Box, Db
from ponte.api.problems import Problem
from ponte.api.schemas import problems
from ponte.domain.messages import say
from ponte.secrets import SecretBox
from ponte.services import orders, webhooks
from ponte.services.webhooks import WebhookRefused
from ponte.store.db import Database

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Code = Annotated[str, Path(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
Slug = Annotated[str, Path(min_length=1, max_length=64)]


class WebhookAccepted(BaseModel):
    order_id: str
    created: bool


_RESPONSES = problems(
    (400, "The body is not a JSON object"),
    (401, "Signature, timestamp or affiliate not accepted"),
    (409, "This delivery id was already received"),
    (413, "The request body is over the size limit"),
    (422, "The order cannot be accepted; `field` says which part"),
)


async def _receive(
    request: Request, db: Db, box: Box, code: str, slug: str | None, timestamp: str, signature: str, delivery: str
) -> WebhookAccepted:
    body = await request.body()
    # The database work is synchronous: run it off the event loop, as FastAPI does for plain routes.
    return await run_in_threadpool(_accept, db, box, body, code, slug, timestamp, signature, delivery)


def _accept(
    db: Database,
    box: SecretBox,
    body: bytes,
    code: str,
    slug: str | None,
    timestamp: str,
    signature: str,
    delivery: str,
) -> WebhookAccepted:
    try:
        with db.write() as conn:
            sender = webhooks.authenticate(
                conn,
                box=box,
                affiliate_code=code,
                account_slug=slug,
                timestamp=timestamp,
                signature_header=signature,
                body=body,
            )
            webhooks.remember_delivery(conn, sender=sender, delivery_id=delivery)
            order_id, created = orders.receive_order(
                conn,
                account_id=sender.account_id,
                affiliate_id=sender.affiliate_id,
                data=webhooks.parse_order(body),
                actor=f"webhook:{sender.code}",
            )
    except WebhookRefused as exc:
        raise Problem(exc.status, exc.said)
    except IntegrityError:  # the same delivery committed by a concurrent request
        raise Problem(409, say("msg.webhook.replayed", delivery=delivery))
    return WebhookAccepted(order_id=order_id, created=created)


Timestamp = Annotated[str, Header(alias="X-Ponte-Timestamp", max_length=20)]
Signature = Annotated[str, Header(alias="X-Ponte-Signature", max_length=200)]
Delivery = Annotated[str, Header(alias="X-Ponte-Delivery", min_length=1, max_length=128)]


@router.post(
    "/{affiliate_code}/orders",
    response_model=WebhookAccepted,
    responses=_RESPONSES,
    summary="Receive an order pushed by a marketplace (signed with the affiliate's webhook secret)",
)
async def order_webhook(
    request: Request,
    db: Db,
    box: Box,
    affiliate_code: Code,
    timestamp: Timestamp,
    signature: Signature,
    delivery: Delivery,
) -> WebhookAccepted:
    return await _receive(request, db, box, affiliate_code, None, timestamp, signature, delivery)


@router.post(
    "/{account}/{affiliate_code}/orders",
    response_model=WebhookAccepted,
    responses=_RESPONSES,
    summary="Receive an order pushed by a marketplace, for one account (cheaper when many stores share a code)",
)
async def account_order_webhook(
    request: Request,
    db: Db,
    box: Box,
    account: Slug,
    affiliate_code: Code,
    timestamp: Timestamp,
    signature: Signature,
    delivery: Delivery,
) -> WebhookAccepted:
    return await _receive(request, db, box, affiliate_code, account, timestamp, signature, delivery)
