"""The store's catalog: SKUs, prices and stock. Every change marks the matching integrations of each
enabled marketplace pending, so the worker sends the newest data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Connection, Row, func, insert, select, update

from ponte.clock import now
from ponte.domain import Flow, Trigger
from ponte.domain.checks import gtin_is_valid
from ponte.engine.queue import mark_changed
from ponte.services.errors import InputError, NotFound
from ponte.store.tables import affiliates, skus, stock

SkuCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Price = Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), max_digits=12, decimal_places=2)]


class SkuInput(BaseModel):
    """A SKU's catalog data as the API, the importer and the demo give it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: SkuCode
    name: str = Field(min_length=1, max_length=300)
    brand: str | None = Field(default=None, max_length=120)
    category: str | None = Field(default=None, max_length=120)
    ean: str | None = Field(default=None, max_length=14)
    description: str | None = Field(default=None, max_length=20_000)
    attributes: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, max_length=100
    )
    images: list[Annotated[str, Field(max_length=1000)]] = Field(default_factory=list, max_length=50)
    weight_g: int | None = Field(default=None, ge=0, le=1_000_000)
    height_cm: Decimal | None = Field(default=None, ge=0, le=10_000)
    width_cm: Decimal | None = Field(default=None, ge=0, le=10_000)
    length_cm: Decimal | None = Field(default=None, ge=0, le=10_000)
    active: bool = True
    handling_days: int = Field(default=1, ge=0, le=90)
    list_price: Price | None = None
    price: Price | None = None
    stock: (
        dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[int, Field(ge=0, le=10_000_000)]] | None
    ) = None

    @field_validator("ean")
    @classmethod
    def _valid_ean(cls, value: str | None) -> str | None:
        if value and not gtin_is_valid(value):
            raise ValueError("not a valid EAN/GTIN (8, 12, 13 or 14 digits with a correct check digit)")
        return value or None

    @field_validator("images")
    @classmethod
    def _http_images(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"image {url[:80]!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _price_not_above_list(self) -> SkuInput:
        if self.price is not None and self.list_price is not None and self.price > self.list_price:
            raise ValueError("price cannot be above list_price")
        return self


class PriceInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SkuCode
    list_price: Price
    price: Price

    @model_validator(mode="after")
    def _price_not_above_list(self) -> PriceInput:
        if self.price > self.list_price:
            raise ValueError("price cannot be above list_price")
        return self


class StockInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SkuCode
    quantity: int = Field(ge=0, le=10_000_000)
    warehouse: str = Field(default="main", min_length=1, max_length=64)


@dataclass
class ItemResult:
    """The result of one item of a bulk write."""

    index: int
    sku: str | None
    ok: bool
    error: str | None = None
    field: str | None = None


def input_error(exc: ValidationError) -> InputError:
    """The first problem of a pydantic error, as one clear sentence naming the field."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    return InputError(f"{field}: {message}" if field else message, field=field)


def _marketplace_ids(conn: Connection, account_id: int) -> list[int]:
    query = select(affiliates.c.id).where(
        affiliates.c.account_id == account_id, affiliates.c.enabled.is_(True), affiliates.c.kind == "marketplace"
    )
    return [r.id for r in conn.execute(query)]


def mark_catalog_changed(
    conn: Connection, account_id: int, flows: tuple[Flow, ...], codes: list[str], actor: str | None = None
) -> None:
    """Queue the given flows of these SKUs for every enabled marketplace."""
    targets = _marketplace_ids(conn, account_id)
    for flow in flows:
        mark_changed(
            conn,
            account_id=account_id,
            flow=flow.value,
            keys=[(a, c) for a in targets for c in codes],
            trigger=Trigger.CHANGE,
            actor=actor,
        )


def _sku_id(conn: Connection, account_id: int, code: str) -> int | None:
    row = conn.execute(select(skus.c.id).where(skus.c.account_id == account_id, skus.c.sku == code)).first()
    return None if row is None else int(row.id)


def save_sku(conn: Connection, *, account_id: int, item: SkuInput, actor: str | None = None) -> int:
    """Create or replace a SKU's catalog data (and price/stock when given); returns the SKU id."""
    when = now()
    data = item.model_dump(exclude={"stock"})
    sku_id = _sku_id(conn, account_id, item.sku)
    if sku_id is None:
        stmt = insert(skus).values(**data, account_id=account_id, created_at=when, updated_at=when)
        sku_id = int(conn.execute(stmt.returning(skus.c.id)).scalar_one())
    else:
        conn.execute(update(skus).where(skus.c.id == sku_id).values(**data, updated_at=when))
    flows: tuple[Flow, ...] = (Flow.PRODUCT, Flow.PRICE) if item.price is not None else (Flow.PRODUCT,)
    if item.stock is not None:
        for warehouse, quantity in item.stock.items():
            _write_stock(conn, account_id, sku_id, warehouse, quantity, when)
        flows = (*flows, Flow.INVENTORY)
    mark_catalog_changed(conn, account_id, flows, [item.sku], actor)
    return sku_id


def save_skus(
    conn: Connection, *, account_id: int, items: list[dict[str, Any]], actor: str | None = None
) -> list[ItemResult]:
    """Validate and save many SKUs; each item gets its own result, and a bad item never stops the others."""
    results = []
    for index, raw in enumerate(items):
        code = raw.get("sku") if isinstance(raw, dict) else None
        try:
            item = SkuInput.model_validate(raw)
        except ValidationError as exc:
            err = input_error(exc)
            results.append(ItemResult(index, code, False, err.message, err.field))
            continue
        save_sku(conn, account_id=account_id, item=item, actor=actor)
        results.append(ItemResult(index, item.sku, True))
    return results


def set_price(conn: Connection, *, account_id: int, item: PriceInput, actor: str | None = None) -> None:
    sku_id = _sku_id(conn, account_id, item.sku)
    if sku_id is None:
        raise NotFound(f"SKU {item.sku} not found")
    conn.execute(
        update(skus).where(skus.c.id == sku_id).values(list_price=item.list_price, price=item.price, updated_at=now())
    )
    mark_catalog_changed(conn, account_id, (Flow.PRICE,), [item.sku], actor)


def _write_stock(conn: Connection, account_id: int, sku_id: int, warehouse: str, quantity: int, when: Any) -> None:
    changed = conn.execute(
        update(stock)
        .where(stock.c.sku_id == sku_id, stock.c.warehouse == warehouse)
        .values(quantity=quantity, updated_at=when)
    )
    if not changed.rowcount:
        conn.execute(
            insert(stock).values(
                account_id=account_id, sku_id=sku_id, warehouse=warehouse, quantity=quantity, updated_at=when
            )
        )


def set_stock(conn: Connection, *, account_id: int, item: StockInput, actor: str | None = None) -> None:
    sku_id = _sku_id(conn, account_id, item.sku)
    if sku_id is None:
        raise NotFound(f"SKU {item.sku} not found")
    _write_stock(conn, account_id, sku_id, item.warehouse, item.quantity, now())
    mark_catalog_changed(conn, account_id, (Flow.INVENTORY,), [item.sku], actor)


def get_sku(conn: Connection, *, account_id: int, sku: str) -> Row:
    row = conn.execute(select(skus).where(skus.c.account_id == account_id, skus.c.sku == sku)).first()
    if row is None:
        raise NotFound(f"SKU {sku} not found")
    return row


def available_stock(conn: Connection, *, sku_id: int) -> int:
    """Stock that can be sold: quantity less reservations, over every warehouse."""
    return available_stocks(conn, sku_ids=[sku_id]).get(sku_id, 0)


def available_stocks(conn: Connection, *, sku_ids: Iterable[int]) -> dict[int, int]:
    """`available_stock` of many SKUs in one query; a SKU without stock rows is absent (0)."""
    ids = list(sku_ids)
    if not ids:
        return {}
    query = (
        select(stock.c.sku_id, func.sum(stock.c.quantity - stock.c.reserved))
        .where(stock.c.sku_id.in_(ids))
        .group_by(stock.c.sku_id)
    )
    return {int(r[0]): max(0, int(r[1] or 0)) for r in conn.execute(query)}
