"""Notifications marketplaces push to Ponte, one public endpoint per connector (`POST /notifications/{kind}`).

Mercado Livre wants an answer within 500 ms and retries otherwise: the endpoint keeps the notification's ids and
answers; a worker reads the resource later with the seller's token (the callback is unsigned, so nothing else
in the body is believed).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ponte.api.deps import Db
from ponte.api.schemas import problems
from ponte.services.notifications import receive_notification
from ponte.store.db import Database

router = APIRouter(tags=["notifications"])
Kind = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")]


class NotificationAccepted(BaseModel):
    kept: bool  # False: the body was not one of this connector's notifications, and nothing was kept


@router.post(
    "/notifications/{kind}",
    response_model=NotificationAccepted,
    responses=problems((404, "No such connector"), (422, "The body is not a notification of this connector")),
    summary="Receive a notification a marketplace pushes (its ids are kept; the resource is read later)",
)
async def notification(request: Request, db: Db, kind: Kind) -> NotificationAccepted:
    body = await request.body()
    return await run_in_threadpool(_keep, db, kind, body, dict(request.headers))


def _keep(db: Database, kind: str, body: bytes, headers: dict[str, str]) -> NotificationAccepted:
    with db.write() as conn:
        return NotificationAccepted(kept=receive_notification(conn, kind=kind, body=body, headers=headers))
