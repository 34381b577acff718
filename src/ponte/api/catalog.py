"""Catalog routes: SKU product data, price and stock, one at a time or in bulk with a result per item; and a change
to every SKU a filter matches, previewed first (`dry_run`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Connection

from ponte.api.deps import Db, Operator, Viewer
from ponte.api.schemas import NOT_FOUND, BulkResult, ItemResult, bulk_result
from ponte.auth import Principal
from ponte.services import catalog, catalog_bulk
from ponte.services.catalog import PriceInput, SkuInput, StockInput
from ponte.services.catalog_bulk import BulkRequest
from ponte.store.catalog import stock_quantities
from ponte.store.db import Database

router = APIRouter(tags=["catalog"])

MAX_BULK = 1000
BulkItems = Annotated[
    list[dict[str, Any]],
    Body(min_length=1, max_length=MAX_BULK, description=f"Up to {MAX_BULK} objects; each is validated on its own"),
]


class SkuOut(BaseModel):
    sku: str
    name: str
    brand: str | None
    category: str | None
    ean: str | None
    description: str | None
    attributes: dict[str, str]
    images: list[str]
    weight_g: int | None
    height_cm: Decimal | None
    width_cm: Decimal | None
    length_cm: Decimal | None
    active: bool
    handling_days: int
    list_price: Decimal | None
    price: Decimal | None
    stock: dict[str, int] = Field(description="Quantity by warehouse")
    updated_at: datetime


class Saved(BaseModel):
    sku: str
    ok: bool = True


def _sku_out(conn: Connection, account_id: int, code: str) -> SkuOut:
    row = catalog.get_sku(conn, account_id=account_id, sku=code)
    quantities = stock_quantities(conn, sku_id=row.id)
    return SkuOut.model_validate({**asdict(row), "stock": quantities})


@router.get("/skus/{sku:path}", response_model=SkuOut, responses=NOT_FOUND, summary="Read a SKU")
def read_sku(principal: Viewer, db: Db, sku: Annotated[str, Path(max_length=64)]) -> SkuOut:
    with db.read() as conn:
        return _sku_out(conn, principal.account_id, sku)


@router.post("/skus", response_model=Saved, summary="Create or replace a SKU's catalog data")
def save_sku(principal: Operator, db: Db, item: SkuInput) -> Saved:
    with db.write() as conn:
        catalog.save_sku(conn, account_id=principal.account_id, item=item, actor=principal.actor)
    return Saved(sku=item.sku)


@router.post("/skus/bulk", response_model=BulkResult, summary="Create or replace many SKUs (per-item results)")
def save_skus(principal: Operator, db: Db, items: BulkItems) -> BulkResult:
    return _write_valid(db, principal, items, "sku")


@router.post("/prices", response_model=Saved, responses=NOT_FOUND, summary="Set a SKU's list and selling price")
def set_price(principal: Operator, db: Db, item: PriceInput) -> Saved:
    with db.write() as conn:
        catalog.set_price(conn, account_id=principal.account_id, item=item, actor=principal.actor)
    return Saved(sku=item.sku)


@router.post("/prices/bulk", response_model=BulkResult, summary="Set many prices (per-item results)")
def set_prices(principal: Operator, db: Db, items: BulkItems) -> BulkResult:
    return _write_valid(db, principal, items, "price")


@router.post("/stock", response_model=Saved, responses=NOT_FOUND, summary="Set a SKU's quantity in a warehouse")
def set_stock(principal: Operator, db: Db, item: StockInput) -> Saved:
    with db.write() as conn:
        catalog.set_stock(conn, account_id=principal.account_id, item=item, actor=principal.actor)
    return Saved(sku=item.sku)


@router.post("/stock/bulk", response_model=BulkResult, summary="Set many quantities (per-item results)")
def set_stocks(principal: Operator, db: Db, items: BulkItems) -> BulkResult:
    return _write_valid(db, principal, items, "stock")


def _write_valid(db: Database, principal: Principal, items: list[dict[str, Any]], kind: str) -> BulkResult:
    """Validate each item as a line of `kind`, then write the valid ones together. An invalid or unknown item is
    reported and writes nothing; the others are written all the same."""
    results: list[ItemResult] = []
    valid: list[Any] = []
    for index, raw in enumerate(items):
        key = raw.get("sku") if isinstance(raw.get("sku"), str) else None
        try:
            item = catalog.INPUTS[kind].model_validate(raw)
        except ValidationError as exc:
            err = catalog.input_error(exc)
            results.append(ItemResult(index=index, ok=False, key=key, error=err.message, field=err.field))
        else:
            valid.append(item)
            results.append(ItemResult(index=index, ok=True, key=item.sku))
    if valid:
        with db.write() as conn:
            unknown = catalog.write_items(
                conn, kind=kind, account_id=principal.account_id, items=valid, actor=principal.actor
            )
        for result in results:
            if result.ok and result.key in unknown:
                result.ok, result.error, result.field = False, f"SKU {result.key} not found", "sku"
    return bulk_result(results)


class BulkChange(BaseModel):
    sku: str
    name: str
    before: Any
    after: Any


class BulkOut(BaseModel):
    dry_run: bool
    matched: int = Field(description="SKUs the filter matches")
    changed: int = Field(description="SKUs that change (dry run: that would change)")
    unchanged: int = Field(description="SKUs that already have the value")
    pending: int = Field(default=0, description="Integrations marked pending (0 in a dry run)")
    sample: list[BulkChange] = Field(default_factory=list, description="A dry run's first changes, before → after")


@router.post("/catalog/bulk", response_model=BulkOut, summary="Set a value on every SKU a filter matches")
def bulk_change(principal: Operator, db: Db, request: BulkRequest) -> BulkOut:
    """Set a marketplace category (each SKU's own, on one affiliate), an attribute or a field for every SKU the
    filter matches. With `dry_run` (the default) nothing is written: the answer says how many match and would
    change, with the first changes. Applied, only the SKUs that change are written and their integrations marked
    pending; `reason` is then required and kept in the audit log."""
    if request.dry_run:
        with db.read() as conn:
            found = catalog_bulk.preview(conn, account_id=principal.account_id, request=request)
        sample = [BulkChange(sku=c.sku, name=c.name, before=c.before, after=c.after) for c in found.sample]
        return BulkOut(dry_run=True, matched=found.matched, changed=found.changing, unchanged=found.unchanged,
                       sample=sample)  # fmt: skip
    done = catalog_bulk.apply(db, account_id=principal.account_id, request=request, actor=principal.actor)
    return BulkOut(
        dry_run=False, matched=done.matched, changed=done.changed, unchanged=done.matched - done.changed,
        pending=done.pending,
    )  # fmt: skip
