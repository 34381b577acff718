"""Order routes: read an order; record its invoice (NF-e key) and tracking."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from ponte.api.deps import Db, Operator, Viewer
from ponte.api.schemas import NOT_FOUND
from ponte.services import orders as service
from ponte.services.orders import TrackingInput

router = APIRouter(prefix="/orders", tags=["orders"])
OrderId = Annotated[str, Path(min_length=1, max_length=64, description="The marketplace's order id")]
AffiliateCode = Annotated[
    str | None, Query(max_length=16, description="Affiliate code, when two marketplaces use the same id")
]


class OrderItemOut(BaseModel):
    sku: str
    quantity: int
    price: str


class OrderOut(BaseModel):
    id: str
    affiliate: str
    status: str
    items: list[OrderItemOut]
    total: Decimal
    shipping_total: Decimal
    postal_code: str
    sla: str | None
    invoice_key: str | None
    carrier: str | None
    tracking_number: str | None
    buyer: dict[str, Any]
    received_at: datetime
    placed_at: datetime | None
    updated_at: datetime


def _read(db: Any, account_id: int, order_id: str, affiliate: str | None) -> OrderOut:
    with db.read() as conn:
        row = service.get_order(conn, account_id=account_id, external_id=order_id, affiliate_code=affiliate)
    return OrderOut.model_validate({**row._mapping, "id": row.external_id, "affiliate": row.affiliate_code})


@router.get("/{order_id}", response_model=OrderOut, responses=NOT_FOUND, summary="Read an order")
def read_order(principal: Viewer, db: Db, order_id: OrderId, affiliate: AffiliateCode = None) -> OrderOut:
    return _read(db, principal.account_id, order_id, affiliate)


@router.put(
    "/{order_id}/tracking",
    response_model=OrderOut,
    responses=NOT_FOUND,
    summary="Record the invoice (NF-e key) and tracking of a placed order and send them to its marketplace",
)
def set_tracking(principal: Operator, db: Db, order_id: OrderId, body: TrackingInput) -> OrderOut:
    with db.write() as conn:
        service.set_tracking(
            conn, account_id=principal.account_id, external_id=order_id, data=body.model_dump(), actor=principal.actor
        )
    return _read(db, principal.account_id, order_id, None)
