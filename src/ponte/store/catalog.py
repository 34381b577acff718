"""Reads of the store's catalog that the engine and the services share: SKUs, available stock, shipping rules,
listings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, exists, func, or_, select, update

from ponte.clock import now
from ponte.store.db import upsert
from ponte.store.skus import Sku
from ponte.store.tables import integrations, listings, shipping_rules, skus, stock


def skus_by_code(conn: Connection, account_id: int, codes: Iterable[str]) -> dict[str, Sku]:
    """The SKUs of these codes, whole."""
    wanted = list(set(codes))
    if not wanted:
        return {}
    query = select(skus).where(skus.c.account_id == account_id, skus.c.sku.in_(wanted))
    return {row.sku: Sku.from_row(row) for row in conn.execute(query)}


@dataclass(frozen=True, slots=True)
class SendFacts:
    """What a price or stock send reads of a SKU (and the mapping its category): a batch of 25,000 needs no
    descriptions, attributes or images, and decoding them was most of its read."""

    id: int
    sku: str
    active: bool
    price: Decimal | None
    list_price: Decimal | None
    handling_days: int
    category: str | None


_FACTS = tuple(skus.c[f.name] for f in fields(SendFacts))


def send_facts_by_code(conn: Connection, account_id: int, codes: Iterable[str]) -> dict[str, SendFacts]:
    """SendFacts of these codes."""
    wanted = list(set(codes))
    if not wanted:
        return {}
    query = select(*_FACTS).where(skus.c.account_id == account_id, skus.c.sku.in_(wanted))
    return {row[1]: SendFacts(*row) for row in conn.execute(query)}


def available_stocks(conn: Connection, *, sku_ids: Iterable[int]) -> dict[int, int]:
    """Stock that can be sold (quantity less reservations, over every warehouse) of many SKUs in one query; a SKU
    without stock rows is absent (0)."""
    ids = list(sku_ids)
    if not ids:
        return {}
    query = (
        select(stock.c.sku_id, func.sum(stock.c.quantity - stock.c.reserved))
        .where(stock.c.sku_id.in_(ids))
        .group_by(stock.c.sku_id)
    )
    return {int(r[0]): max(0, int(r[1] or 0)) for r in conn.execute(query)}


def available_stock(conn: Connection, *, sku_id: int) -> int:
    return available_stocks(conn, sku_ids=[sku_id]).get(sku_id, 0)


def warehouse_stocks(conn: Connection, *, sku_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Available stock per warehouse of each SKU (for marketplaces that keep stock per origin)."""
    ids = list(sku_ids)
    if not ids:
        return {}
    query = select(stock.c.sku_id, stock.c.warehouse, stock.c.quantity - stock.c.reserved).where(
        stock.c.sku_id.in_(ids)
    )
    found: dict[int, dict[str, int]] = {}
    for sku_id, warehouse, free in conn.execute(query):
        found.setdefault(int(sku_id), {})[warehouse] = max(0, int(free or 0))
    return found


def stock_quantities_of(conn: Connection, *, sku_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each SKU's quantity per warehouse, as the store set it (reservations not taken off), in one query."""
    ids = list(sku_ids)
    if not ids:
        return {}
    found: dict[int, dict[str, int]] = {}
    for sku_id, warehouse, quantity in conn.execute(
        select(stock.c.sku_id, stock.c.warehouse, stock.c.quantity).where(stock.c.sku_id.in_(ids))
    ):
        found.setdefault(int(sku_id), {})[str(warehouse)] = int(quantity)
    return found


def stock_quantities(conn: Connection, *, sku_id: int) -> dict[str, int]:
    """The SKU's quantity per warehouse, as the store set it (reservations not taken off)."""
    query = select(stock.c.warehouse, stock.c.quantity).where(stock.c.sku_id == sku_id).order_by(stock.c.warehouse)
    return {str(warehouse): int(quantity) for warehouse, quantity in conn.execute(query)}


def find_sla(conn: Connection, *, account_id: int, postal_code: str, weight_g: int) -> Row[Any] | None:
    """The fastest, then cheapest, shipping rule that covers this postal code and weight."""
    r = shipping_rules.c
    return conn.execute(
        select(shipping_rules)
        .where(
            r.account_id == account_id,
            r.postal_from <= postal_code,
            r.postal_to >= postal_code,
            r.max_weight_g >= weight_g,
        )
        .order_by(r.days, r.price)
        .limit(1)
    ).first()


def listings_of(conn: Connection, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[str, dict[str, Any]]]:
    """The marketplace's listing id and facts (`data`) of (affiliate_id, sku) pairs; only those columns are read
    (a feed's 25,000 listings)."""
    by_affiliate: dict[int, set[str]] = {}
    for affiliate_id, sku in keys:
        by_affiliate.setdefault(affiliate_id, set()).add(sku)
    found: dict[tuple[int, str], tuple[str, dict[str, Any]]] = {}
    c = listings.c
    for affiliate_id, codes in by_affiliate.items():
        query = select(c.sku, c.listing_id, c.data).where(c.affiliate_id == affiliate_id, c.sku.in_(codes))
        found.update({(affiliate_id, sku): (listing_id, data or {}) for sku, listing_id, data in conn.execute(query)})
    return found


def sku_of_listing(conn: Connection, *, affiliate_id: int, listing_id: str) -> str | None:
    query = select(listings.c.sku).where(listings.c.affiliate_id == affiliate_id, listings.c.listing_id == listing_id)
    return conn.execute(query.limit(1)).scalar()


def save_listings(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int,
    found: Mapping[str, tuple[str, Mapping[str, Any]]],
    now: datetime,
) -> None:
    """Keep the marketplace's listing id (and its other facts) of each SKU: {sku: (listing_id, data)}."""
    if not found:
        return
    stmt = upsert(conn, listings)
    stmt = stmt.on_conflict_do_update(
        index_elements=[listings.c.affiliate_id, listings.c.sku],
        set_={
            "listing_id": stmt.excluded.listing_id,
            "data": stmt.excluded.data,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    rows = [
        {
            "affiliate_id": affiliate_id,
            "sku": sku,
            "account_id": account_id,
            "listing_id": listing_id,
            "data": dict(data),
            "updated_at": now,
        }
        for sku, (listing_id, data) in sorted(found.items())
    ]
    conn.execute(stmt, rows)


# -- the catalog list and its filter (the catalog page, bulk changes) ------------------------------------------


@dataclass(frozen=True)
class SkuFilter:
    """Which SKUs of the catalog: the catalog page's filter, and what a bulk change applies to. Empty: all of them.
    `status` is the product flow's status, on `affiliate_id` when given, on any affiliate otherwise."""

    text: str | None = None  # the SKU code's beginning, or words of the name (case-insensitive)
    category: str | None = None  # the store category ("" for SKUs without one)
    brand: str | None = None
    active: bool | None = None
    affiliate_id: int | None = None
    status: str | None = None

    def conditions(self, account_id: int) -> list[ColumnElement[bool]]:
        s = skus.c
        where: list[ColumnElement[bool]] = [s.account_id == account_id]
        if self.text:
            where.append(
                or_(s.sku.istartswith(self.text, autoescape=True), s.name.icontains(self.text, autoescape=True))
            )
        if self.category == "":
            where.append(or_(s.category.is_(None), s.category == ""))
        elif self.category is not None:
            where.append(s.category == self.category)
        if self.brand is not None:
            where.append(s.brand == self.brand)
        if self.active is not None:
            where.append(s.active.is_(self.active))
        if self.status is not None:
            i = integrations.c
            sent = [i.account_id == account_id, i.flow == "product", i.entity == s.sku, i.status == self.status]
            if self.affiliate_id is not None:
                sent.append(i.affiliate_id == self.affiliate_id)
            where.append(exists().where(*sent))
        return where


def find_skus(conn: Connection, *, account_id: int, filter: SkuFilter, after_id: int = 0, limit: int = 50) -> list[Sku]:
    """The SKUs the filter matches, by id from `after_id` (keyset pages: a change to the rows read does not move the
    next page)."""
    query = select(skus).where(*filter.conditions(account_id), skus.c.id > after_id).order_by(skus.c.id)
    return [Sku.from_row(row) for row in conn.execute(query.limit(limit))]


def count_skus(conn: Connection, *, account_id: int, filter: SkuFilter) -> int:
    return int(conn.execute(select(func.count()).select_from(skus).where(*filter.conditions(account_id))).scalar_one())


def catalog_brands(conn: Connection, *, account_id: int) -> list[str]:
    """The brands the store's SKUs have (the filter's choices)."""
    query = select(skus.c.brand).where(skus.c.account_id == account_id, skus.c.brand.is_not(None)).distinct()
    return sorted(str(b) for b in conn.execute(query).scalars() if b)


def set_sku_field(conn: Connection, *, account_id: int, sku_ids: Iterable[int], name: str, value: Any) -> None:
    """Set one catalog column of these SKUs to the same value (a bulk change)."""
    ids = sorted(set(sku_ids))
    if ids:
        stmt = update(skus).where(skus.c.account_id == account_id, skus.c.id.in_(ids))
        conn.execute(stmt.values({name: value, "updated_at": now()}))


def set_sku_attributes(conn: Connection, *, attributes: Mapping[int, Mapping[str, Any]]) -> None:
    """Replace the attributes of SKUs (sku_id → all its attributes) with one executemany."""
    if attributes:
        when = now()
        rows = [{"sku_id": i, "attrs": dict(a), "when": when} for i, a in sorted(attributes.items())]
        stmt = update(skus).where(skus.c.id == bindparam("sku_id"))
        conn.execute(stmt.values(attributes=bindparam("attrs"), updated_at=bindparam("when")), rows)
