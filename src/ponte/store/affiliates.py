"""Affiliates as the layers above read them: a typed record, never a Row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from ponte.store.tables import affiliates


@dataclass(frozen=True)
class Affiliate:
    """One store's connection to a marketplace or an ERP. `secrets` stays sealed until a connector is built."""

    id: int
    account_id: int
    code: str
    name: str
    kind: str  # marketplace | erp
    connector: str
    marketplace: str  # whose error vocabulary it speaks (the knowledge base's "connector")
    settings: Mapping[str, Any]
    secrets: str | None
    enabled: bool
    min_availability: int | None
    price_tolerance_pct: Decimal
    price_divergence_action: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Affiliate:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


def affiliates_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, Affiliate]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = conn.execute(select(affiliates).where(affiliates.c.id.in_(wanted)))
    return {row.id: Affiliate.from_row(row) for row in rows}


def find_affiliate(conn: Connection, *, account_id: int, affiliate_id: int) -> Affiliate | None:
    query = select(affiliates).where(affiliates.c.account_id == account_id, affiliates.c.id == affiliate_id)
    row = conn.execute(query).first()
    return None if row is None else Affiliate.from_row(row)


def account_affiliates(conn: Connection, *, account_id: int, enabled_only: bool = False) -> list[Affiliate]:
    query = select(affiliates).where(affiliates.c.account_id == account_id).order_by(affiliates.c.code)
    if enabled_only:
        query = query.where(affiliates.c.enabled.is_(True))
    return [Affiliate.from_row(row) for row in conn.execute(query)]


def enabled_affiliates(conn: Connection, *, connectors: Iterable[str] | None = None) -> list[Affiliate]:
    """Every store's enabled affiliates (of these connectors), in id order: what the periodic jobs walk."""
    query = select(affiliates).where(affiliates.c.enabled.is_(True)).order_by(affiliates.c.id)
    if connectors is not None:
        query = query.where(affiliates.c.connector.in_(list(connectors)))
    return [Affiliate.from_row(row) for row in conn.execute(query)]


def enabled_erps(conn: Connection, *, account_ids: Iterable[int]) -> list[Affiliate]:
    """The enabled ERP affiliates of these accounts (what they say of the store's warehouses)."""
    wanted = list(set(account_ids))
    if not wanted:
        return []
    a = affiliates.c
    query = select(affiliates).where(a.account_id.in_(wanted), a.enabled.is_(True), a.kind == "erp").order_by(a.id)
    return [Affiliate.from_row(row) for row in conn.execute(query)]


def enabled_connectors(conn: Connection, *, account_id: int, kind: str) -> list[tuple[int, str]]:
    """(id, connector) of the account's enabled affiliates of `kind` (marketplace | erp): who is to hear a change."""
    a = affiliates.c
    query = select(a.id, a.connector).where(a.account_id == account_id, a.enabled.is_(True), a.kind == kind)
    return [(int(r.id), str(r.connector)) for r in conn.execute(query)]


def affiliate_code(conn: Connection, *, affiliate_id: int) -> str:
    return str(conn.execute(select(affiliates.c.code).where(affiliates.c.id == affiliate_id)).scalar_one())


def affiliate_codes(conn: Connection, *, account_id: int) -> dict[int, str]:
    """{id: code} of every affiliate of the account."""
    a = affiliates.c
    return {int(r.id): r.code for r in conn.execute(select(a.id, a.code).where(a.account_id == account_id))}


# -- writes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedSettings:
    """An affiliate's settings and sealed secrets, for moving secrets between them."""

    id: int
    connector: str
    settings: Mapping[str, Any]
    secrets: str | None


def code_taken(conn: Connection, *, account_id: int, code: str) -> bool:
    query = select(affiliates.c.id).where(affiliates.c.account_id == account_id, affiliates.c.code == code)
    return conn.execute(query).first() is not None


def insert_affiliate(
    conn: Connection,
    *,
    account_id: int,
    code: str,
    name: str,
    kind: str,
    connector: str,
    marketplace: str,
    settings: Mapping[str, Any],
    secrets: str | None,
    enabled: bool,
    min_availability: int | None,
    price_tolerance_pct: float,
    price_divergence_action: str,
    at: datetime,
) -> int:
    stmt = insert(affiliates).values(
        account_id=account_id,
        code=code,
        name=name,
        kind=kind,
        connector=connector,
        marketplace=marketplace,
        settings=settings,
        secrets=secrets,
        enabled=enabled,
        min_availability=min_availability,
        price_tolerance_pct=price_tolerance_pct,
        price_divergence_action=price_divergence_action,
        created_at=at,
        updated_at=at,
    )
    return int(conn.execute(stmt.returning(affiliates.c.id)).scalar_one())


def update_affiliate(conn: Connection, *, affiliate_id: int, values: Mapping[str, Any]) -> None:
    """Set these columns of the affiliate."""
    conn.execute(update(affiliates).where(affiliates.c.id == affiliate_id).values(**values))


def every_sealed_settings(conn: Connection) -> list[SealedSettings]:
    """Every affiliate's settings and sealed secrets, of every account."""
    a = affiliates.c
    return [SealedSettings(*row) for row in conn.execute(select(a.id, a.connector, a.settings, a.secrets))]
