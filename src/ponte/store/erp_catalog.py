"""The catalog an ERP gives the store: each ERP affiliate's read (cursor, claim, a first import's progress and the
products it rejected) and, per SKU, the values the ERP last gave."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ponte.store.db import upsert
from ponte.store.tables import erp_catalogs, erp_products

MAX_REJECTED = 2_000  # products listed as rejected (the latest); the count goes on


@dataclass(frozen=True)
class CatalogRead:
    """Where an ERP affiliate's catalog read stands."""

    affiliate_id: int
    importing: bool
    total: int | None
    read_count: int
    taken_count: int
    rejected: list[dict[str, Any]]
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str | None


def start_import(conn: Connection, *, affiliate_id: int, account_id: int, now: datetime) -> None:
    """A first import (again): the whole catalog from its first page, its progress from zero, due at once."""
    values: dict[str, Any] = {"cursor": None, "polled_at": None, "importing": True, "total": None, "read_count": 0, "taken_count": 0,
              "rejected": [], "started_at": now, "finished_at": None, "last_error": None}  # fmt: skip
    stmt = upsert(conn, erp_catalogs).values(affiliate_id=affiliate_id, account_id=account_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[erp_catalogs.c.affiliate_id], set_=values))


def catalog_read(conn: Connection, *, affiliate_id: int) -> CatalogRead | None:
    row = conn.execute(select(erp_catalogs).where(erp_catalogs.c.affiliate_id == affiliate_id)).first()
    if row is None:
        return None
    return CatalogRead(
        affiliate_id=row.affiliate_id, importing=bool(row.importing), total=row.total, read_count=row.read_count,
        taken_count=row.taken_count, rejected=list(row.rejected or []), started_at=row.started_at,
        finished_at=row.finished_at, last_error=row.last_error,
    )  # fmt: skip


def reading_affiliates(conn: Connection) -> dict[int, bool]:
    """The ERP affiliates whose catalog is read (a first import was started), and whether it is still importing."""
    return {int(r.affiliate_id): bool(r.importing) for r in conn.execute(select(erp_catalogs.c.affiliate_id,
                                                                               erp_catalogs.c.importing))}  # fmt: skip


def note_page(
    conn: Connection,
    *,
    affiliate_id: int,
    read: int,
    taken: int,
    rejected: list[dict[str, Any]],
    total: int | None,
    done: bool,
    now: datetime,
) -> None:
    """Count a page kept: its products read and taken, the ones rejected; a whole read done ends the import."""
    row = conn.execute(select(erp_catalogs).where(erp_catalogs.c.affiliate_id == affiliate_id)).first()
    if row is None:
        return
    values: dict[str, Any] = {"read_count": row.read_count + read, "taken_count": row.taken_count + taken,
                              "last_error": None}  # fmt: skip
    if rejected:
        values["rejected"] = (rejected + list(row.rejected or []))[:MAX_REJECTED]
    if total is not None:
        values["total"] = total
    if done and row.importing:
        values |= {"importing": False, "finished_at": now, "total": row.read_count + read}
    conn.execute(update(erp_catalogs).where(erp_catalogs.c.affiliate_id == affiliate_id).values(values))


def note_error(conn: Connection, *, affiliate_id: int, error: str) -> None:
    conn.execute(update(erp_catalogs).where(erp_catalogs.c.affiliate_id == affiliate_id).values(last_error=error))


def release(conn: Connection, *, affiliate_id: int) -> None:
    """Let the next worker loop read on at once (an import under way is read page after page, not per interval)."""
    conn.execute(update(erp_catalogs).where(erp_catalogs.c.affiliate_id == affiliate_id).values(polled_at=None))


def last_values(conn: Connection, *, affiliate_id: int, skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The values the ERP last gave for each of these SKUs (absent: never read from it)."""
    wanted = list(set(skus))
    if not wanted:
        return {}
    query = select(erp_products.c.sku, erp_products.c.data).where(
        erp_products.c.affiliate_id == affiliate_id, erp_products.c.sku.in_(wanted)
    )
    return {r.sku: dict(r.data or {}) for r in conn.execute(query)}


def keep_values(
    conn: Connection, *, affiliate_id: int, account_id: int, given: Mapping[str, tuple[str, dict[str, Any]]],
    now: datetime,
) -> None:  # fmt: skip
    """Remember what the ERP gave now: SKU → (its id in the ERP, the values in Ponte's field names, JSON-ready)."""
    if not given:
        return
    stmt = upsert(conn, erp_products)
    stmt = stmt.on_conflict_do_update(
        index_elements=[erp_products.c.affiliate_id, erp_products.c.sku],
        set_={"reference": stmt.excluded.reference, "data": stmt.excluded.data, "read_at": stmt.excluded.read_at},
    )
    rows = [
        {"affiliate_id": affiliate_id, "sku": sku, "account_id": account_id, "reference": reference[:40],
         "data": data, "read_at": now}
        for sku, (reference, data) in sorted(given.items())
    ]  # fmt: skip
    conn.execute(stmt, rows)
