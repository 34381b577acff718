"""The store's SKUs as written by the catalog services: lookups by code, bulk upserts, prices and stock.

Writes take one executemany each whatever the number of items; the rows arrive in the order the caller
chose (services.catalog writes them in one order, so two bulk writes wait on each other, never deadlock).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from ponte.store.db import upsert
from ponte.store.tables import skus, stock


@dataclass(frozen=True)
class Sku:
    """A SKU's catalog data as stored."""

    id: int
    account_id: int
    sku: str
    name: str
    brand: str | None
    category: str | None
    ean: str | None
    description: str | None
    attributes: dict[str, Any]
    images: list[str]
    weight_g: int | None
    height_cm: Decimal | None
    width_cm: Decimal | None
    length_cm: Decimal | None
    active: bool
    list_price: Decimal | None
    price: Decimal | None
    handling_days: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Sku:
        return cls(**row._mapping)


def find_sku(conn: Connection, *, account_id: int, sku: str) -> Sku | None:
    row = conn.execute(select(skus).where(skus.c.account_id == account_id, skus.c.sku == sku)).first()
    return None if row is None else Sku.from_row(row)


def sku_ids(conn: Connection, *, account_id: int, codes: Iterable[str]) -> dict[str, int]:
    """{code: id} of the account's SKUs among these codes."""
    query = select(skus.c.sku, skus.c.id).where(skus.c.account_id == account_id, skus.c.sku.in_(list(codes)))
    return {r.sku: int(r.id) for r in conn.execute(query)}


def upsert_skus(conn: Connection, *, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Insert the SKU rows, or replace `columns` (and updated_at) of the ones another write created first."""
    stmt = upsert(conn, skus)
    stmt = stmt.on_conflict_do_update(
        index_elements=[skus.c.account_id, skus.c.sku],
        set_={**{column: stmt.excluded[column] for column in columns}, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, rows)


def set_prices(conn: Connection, *, prices: Sequence[tuple[int, Decimal | None, Decimal | None]], at: datetime) -> None:
    """(sku id, list price, price) written in this order, in one executemany."""
    rows = [
        {"sku_id": sku_id, "list_price": list_price, "price": price, "updated_at": at}
        for sku_id, list_price, price in prices
    ]
    conn.execute(update(skus).where(skus.c.id == bindparam("sku_id")), rows)


def upsert_stock(
    conn: Connection, *, account_id: int, quantities: Sequence[tuple[int, str, int]], at: datetime
) -> None:
    """(sku id, warehouse, quantity) rows inserted or their quantity updated (the reservations stay), in this order."""
    stmt = upsert(conn, stock)
    stmt = stmt.on_conflict_do_update(
        index_elements=[stock.c.sku_id, stock.c.warehouse],
        set_={"quantity": stmt.excluded.quantity, "updated_at": stmt.excluded.updated_at},
    )
    rows = [
        {"account_id": account_id, "sku_id": sku_id, "warehouse": warehouse, "quantity": quantity, "updated_at": at}
        for sku_id, warehouse, quantity in quantities
    ]
    conn.execute(stmt, rows)
