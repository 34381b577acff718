"""The store's catalog: SKUs, prices and stock. Every change marks the matching integrations of each
enabled marketplace pending, so the worker sends the newest data."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Connection

from ponte.clock import now
from ponte.domain import Flow
from ponte.domain.checks import gtin_is_valid
from ponte.domain.messages import say
from ponte.engine.queue import mark_catalog_changed
from ponte.services.errors import InputError, NotFound
from ponte.store import skus as store
from ponte.store.skus import Sku

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


def input_error(exc: ValidationError) -> InputError:
    """The first problem of a pydantic error, as one clear sentence naming the field."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    return InputError(f"{field}: {message}" if field else message, field=field)


def _sku_ids(conn: Connection, account_id: int, codes: Iterable[str]) -> dict[str, int]:
    return store.sku_ids(conn, account_id=account_id, codes=codes)


# Writes take a few statements whatever the number of items (an ERP pushes a thousand at a time): the SKUs
# are looked up at once, written with one executemany for the SKUs and one for their stock, and queued with
# one `mark_changed` per flow. The same SKU twice ends as the later item says, as if written one by one.
# Rows are written in one order whatever the items' order (existing SKUs by id, then new ones by code; stock
# by SKU id and warehouse): two bulk writes to the same SKUs then wait on each other in that order; in the
# items' order they deadlocked on PostgreSQL.


def save_skus(
    conn: Connection,
    *,
    account_id: int,
    items: Sequence[SkuInput],
    actor: str | None = None,
    flows: Collection[Flow] | None = None,
) -> dict[str, int]:
    """Create or replace SKUs' catalog data (and price/stock where given); returns each SKU's id. The product flow
    (and price, stock where given) is marked pending; `flows` narrows that to the flows a change concerns."""
    if not items:
        return {}
    when = now()
    latest = {item.sku: item for item in items}
    ids = _sku_ids(conn, account_id, latest)
    new = sorted(code for code in latest if code not in ids)
    order = [*sorted(ids, key=ids.__getitem__), *new]
    # An upsert, not an insert, for the new ones too: another request may create the same SKU meanwhile.
    data = [column for column in SkuInput.model_fields if column not in ("sku", "stock")]
    rows = [
        _sku_row(latest[code]) | {"account_id": account_id, "created_at": when, "updated_at": when} for code in order
    ]
    store.upsert_skus(conn, rows=rows, columns=data)
    if new:
        ids |= _sku_ids(conn, account_id, new)
    _write_stock(
        conn, account_id, [(ids[i.sku], warehouse, n) for i in items for warehouse, n in (i.stock or {}).items()], when
    )
    marked = {
        Flow.PRODUCT: list(latest),
        Flow.PRICE: list(dict.fromkeys(i.sku for i in items if i.price is not None)),
        Flow.INVENTORY: list(dict.fromkeys(i.sku for i in items if i.stock is not None)),
    }
    if flows is not None:
        marked = {flow: codes for flow, codes in marked.items() if flow in flows}
    mark_catalog_changed(conn, account_id, marked, actor)
    return ids


def _sku_row(item: SkuInput) -> dict[str, Any]:
    return item.model_dump(exclude={"stock"})


def save_sku(conn: Connection, *, account_id: int, item: SkuInput, actor: str | None = None) -> int:
    """Create or replace a SKU's catalog data (and price/stock when given); returns the SKU id."""
    return save_skus(conn, account_id=account_id, items=[item], actor=actor)[item.sku]


def set_prices(conn: Connection, *, account_id: int, items: Sequence[PriceInput], actor: str | None = None) -> set[str]:
    """Set SKUs' prices; returns the codes of the SKUs that do not exist (nothing is written for them)."""
    ids = _sku_ids(conn, account_id, {i.sku for i in items})
    latest = {i.sku: i for i in items if i.sku in ids}
    if latest:
        when = now()
        prices = [
            (ids[code], i.list_price, i.price) for code, i in sorted(latest.items(), key=lambda item: ids[item[0]])
        ]
        store.set_prices(conn, prices=prices, at=when)
        mark_catalog_changed(conn, account_id, {Flow.PRICE: list(latest)}, actor)
    return {i.sku for i in items} - ids.keys()


def set_price(conn: Connection, *, account_id: int, item: PriceInput, actor: str | None = None) -> None:
    if set_prices(conn, account_id=account_id, items=[item], actor=actor):
        raise NotFound(say("msg.not_found.sku", sku=item.sku))


def set_stocks(conn: Connection, *, account_id: int, items: Sequence[StockInput], actor: str | None = None) -> set[str]:
    """Set SKUs' quantities per warehouse; returns the codes of the SKUs that do not exist (nothing written)."""
    ids = _sku_ids(conn, account_id, {i.sku for i in items})
    found = [i for i in items if i.sku in ids]
    _write_stock(conn, account_id, [(ids[i.sku], i.warehouse, i.quantity) for i in found], now())
    mark_catalog_changed(conn, account_id, {Flow.INVENTORY: list(dict.fromkeys(i.sku for i in found))}, actor)
    return {i.sku for i in items} - ids.keys()


def set_stock(conn: Connection, *, account_id: int, item: StockInput, actor: str | None = None) -> None:
    if set_stocks(conn, account_id=account_id, items=[item], actor=actor):
        raise NotFound(say("msg.not_found.sku", sku=item.sku))


# The three kinds of catalog line (a bulk request, a file's lines) and how each is validated.
INPUTS: dict[str, type[SkuInput] | type[PriceInput] | type[StockInput]] = {
    "sku": SkuInput,
    "price": PriceInput,
    "stock": StockInput,
}


def write_items(conn: Connection, *, kind: str, account_id: int, items: Sequence[Any], actor: str | None) -> set[str]:
    """Write validated items of one kind (`INPUTS`) together; returns the SKU codes not found, for which nothing
    was written (a SKU line creates its SKU, so none for those)."""
    if kind == "sku":
        save_skus(conn, account_id=account_id, items=items, actor=actor)
        return set()
    write = set_prices if kind == "price" else set_stocks
    return write(conn, account_id=account_id, items=items, actor=actor)


def _write_stock(conn: Connection, account_id: int, quantities: list[tuple[int, str, int]], when: datetime) -> None:
    """(sku_id, warehouse, quantity) rows, inserted or updated (the reservations stay); the later one of a pair
    for the same warehouse wins."""
    latest = {(sku_id, warehouse): quantity for sku_id, warehouse, quantity in quantities}
    if not latest:
        return
    ordered = [(sku_id, warehouse, quantity) for (sku_id, warehouse), quantity in sorted(latest.items())]
    store.upsert_stock(conn, account_id=account_id, quantities=ordered, at=when)


def get_sku(conn: Connection, *, account_id: int, sku: str) -> Sku:
    row = store.find_sku(conn, account_id=account_id, sku=sku)
    if row is None:
        raise NotFound(say("msg.not_found.sku", sku=sku))
    return row
