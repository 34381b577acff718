"""The catalog mapping as the layers above read it (issue 21): store categories and SKUs mapped to each affiliate's
marketplace categories, how each marketplace attribute is filled, and the marketplace's tree and attribute lists as
its connector last fetched them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from ponte.clock import now
from ponte.store.db import upsert
from ponte.store.tables import attribute_mappings, marketplace_taxonomy
from ponte.store.tables import category_mappings as mapped_categories
from ponte.store.tables import skus as skus_table

TREE = "tree"


def attributes_key(category_id: str) -> str:
    return f"attributes:{category_id}"[:140]


@dataclass(frozen=True)
class CategoryMapping:
    affiliate_id: int
    scope: str  # category | sku
    key: str  # the store category, or the SKU code
    target: str
    target_name: str | None
    updated_by: str | None
    updated_at: datetime


@dataclass(frozen=True)
class AttributeMapping:
    """How the marketplace attribute `attribute` of `category` is filled: `source` "store" (the store attribute
    `store_attribute`, its values translated by `value_map` where it has them) or "fixed" (`value`)."""

    affiliate_id: int
    category: str
    attribute: str
    source: str
    store_attribute: str | None
    value: str | None
    value_map: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cached:
    data: Any
    fetched_at: datetime


def category_mappings(
    conn: Connection, *, affiliate_ids: Iterable[int], skus_wanted: Iterable[str] | None = None
) -> dict[tuple[int, str, str], CategoryMapping]:
    """Every category mapping of these affiliates, and their SKU overrides (only of `skus_wanted` when given)."""
    ids = list(set(affiliate_ids))
    if not ids:
        return {}
    c = mapped_categories.c
    query = select(mapped_categories).where(c.affiliate_id.in_(ids))
    if skus_wanted is not None:
        query = query.where((c.scope == "category") | c.key.in_(list(set(skus_wanted))))
    found: dict[tuple[int, str, str], CategoryMapping] = {}
    for row in conn.execute(query):
        found[(row.affiliate_id, row.scope, row.key)] = CategoryMapping(
            row.affiliate_id, row.scope, row.key, row.target, row.target_name, row.updated_by, row.updated_at
        )
    return found


def save_category_mapping(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int,
    scope: str,
    key: str,
    target: str | None,
    target_name: str | None,
    actor: str | None,
) -> None:
    """Map (or, with no target, unmap) a store category or a SKU on an affiliate."""
    c = mapped_categories.c
    where = (c.affiliate_id == affiliate_id) & (c.scope == scope) & (c.key == key) & (c.account_id == account_id)
    if not target:
        conn.execute(delete(mapped_categories).where(where))
        return
    values = {"target": target, "target_name": target_name, "updated_by": actor, "updated_at": now()}
    stmt = upsert(conn, mapped_categories).values(
        affiliate_id=affiliate_id, scope=scope, key=key, account_id=account_id, **values
    )
    conn.execute(stmt.on_conflict_do_update(index_elements=[c.affiliate_id, c.scope, c.key], set_=values))


def save_sku_overrides(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int,
    skus: Iterable[str],
    target: str,
    target_name: str | None,
    actor: str | None,
) -> None:
    """Map many SKUs of an affiliate to one marketplace category, over their store category's (one executemany)."""
    codes = sorted(set(skus))
    if not codes:
        return
    c = mapped_categories.c
    values = {"target": target, "target_name": target_name, "updated_by": actor, "updated_at": now()}
    stmt = upsert(conn, mapped_categories)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.affiliate_id, c.scope, c.key], set_={k: stmt.excluded[k] for k in values}
    )
    rows = [
        {"affiliate_id": affiliate_id, "scope": "sku", "key": code, "account_id": account_id, **values}
        for code in codes
    ]
    conn.execute(stmt, rows)


def attribute_mappings_of(
    conn: Connection, *, affiliate_ids: Iterable[int], categories: Iterable[str] | None = None
) -> dict[tuple[int, str], list[AttributeMapping]]:
    """(affiliate_id, marketplace category) → how its attributes are filled."""
    ids = list(set(affiliate_ids))
    if not ids:
        return {}
    a = attribute_mappings.c
    query = select(attribute_mappings).where(a.affiliate_id.in_(ids)).order_by(a.attribute)
    if categories is not None:
        query = query.where(a.category.in_(list(set(categories))))
    found: dict[tuple[int, str], list[AttributeMapping]] = {}
    for row in conn.execute(query):
        found.setdefault((row.affiliate_id, row.category), []).append(
            AttributeMapping(
                row.affiliate_id,
                row.category,
                row.attribute,
                row.source,
                row.store_attribute,
                row.value,
                dict(row.value_map or {}),
            )
        )
    return found


def save_attribute_mapping(
    conn: Connection, *, account_id: int, mapping: AttributeMapping, actor: str | None, remove: bool = False
) -> None:
    a = attribute_mappings.c
    where = (
        (a.affiliate_id == mapping.affiliate_id)
        & (a.category == mapping.category)
        & (a.attribute == mapping.attribute)
        & (a.account_id == account_id)
    )
    if remove:
        conn.execute(delete(attribute_mappings).where(where))
        return
    values = {
        "source": mapping.source,
        "store_attribute": mapping.store_attribute,
        "value": mapping.value,
        "value_map": dict(mapping.value_map),
        "updated_by": actor,
        "updated_at": now(),
    }
    stmt = upsert(conn, attribute_mappings).values(
        affiliate_id=mapping.affiliate_id,
        category=mapping.category,
        attribute=mapping.attribute,
        account_id=account_id,
        **values,
    )
    conn.execute(stmt.on_conflict_do_update(index_elements=[a.affiliate_id, a.category, a.attribute], set_=values))


def taxonomy(conn: Connection, *, affiliate_ids: Iterable[int], keys: Iterable[str]) -> dict[tuple[int, str], Cached]:
    ids, wanted = list(set(affiliate_ids)), list(set(keys))
    if not ids or not wanted:
        return {}
    t = marketplace_taxonomy.c
    query = select(t.affiliate_id, t.key, t.data, t.fetched_at).where(t.affiliate_id.in_(ids), t.key.in_(wanted))
    return {(row.affiliate_id, row.key): Cached(row.data, row.fetched_at) for row in conn.execute(query)}


def save_taxonomy(conn: Connection, *, account_id: int, affiliate_id: int, key: str, data: Any) -> None:
    t = marketplace_taxonomy.c
    values = {"data": data, "fetched_at": now()}
    stmt = upsert(conn, marketplace_taxonomy).values(
        affiliate_id=affiliate_id, key=key, account_id=account_id, **values
    )
    conn.execute(stmt.on_conflict_do_update(index_elements=[t.affiliate_id, t.key], set_=values))


@dataclass(frozen=True)
class StoreCategory:
    category: str
    skus: int
    sample: str  # a SKU's name, for the predictor and the text similarity


def store_categories(conn: Connection, *, account_id: int) -> list[StoreCategory]:
    """The store's categories with how many SKUs each has and one of their names."""
    s = skus_table.c
    query = (
        select(s.category, func.count(), func.min(s.name))
        .where(s.account_id == account_id, s.category.is_not(None), s.category != "")
        .group_by(s.category)
        .order_by(s.category)
    )
    return [StoreCategory(str(row[0]), int(row[1]), str(row[2] or "")) for row in conn.execute(query)]


def skus_with_categories(conn: Connection, *, account_id: int, categories: Iterable[str]) -> list[str]:
    wanted = list(set(categories))
    if not wanted:
        return []
    query = select(skus_table.c.sku).where(skus_table.c.account_id == account_id, skus_table.c.category.in_(wanted))
    return sorted(conn.execute(query).scalars())


def attributes_of(conn: Connection, *, account_id: int, skus: Iterable[str]) -> list[dict[str, Any]]:
    """The attributes of these SKUs (for the value maps: which values the store has)."""
    wanted = list(set(skus))
    if not wanted:
        return []
    query = select(skus_table.c.attributes).where(skus_table.c.account_id == account_id, skus_table.c.sku.in_(wanted))
    return [dict(row[0] or {}) for row in conn.execute(query)]


def set_attributes(conn: Connection, *, sku_id: int, attributes: dict[str, str]) -> None:
    conn.execute(skus_table.update().where(skus_table.c.id == sku_id).values(attributes=attributes, updated_at=now()))
