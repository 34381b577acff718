"""Reconciliation's rows: each account's settings, each affiliate's pass, the drifts found (SQL only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, text, update

from ponte.store.db import upsert
from ponte.store.tables import When, drifts, integrations, listings, reconcile_passes, reconcile_settings, skus, stock

KINDS = ("stock_higher", "stock_lower", "price", "status", "missing", "unknown")
OPEN = ("open", "repairing")
# Stock higher on the marketplace than in the store sells what the store does not have: repaired at once unless the
# account says otherwise; the other kinds are reported until the account asks Ponte to repair them.
DEFAULT_ACTIONS = {kind: ("repair" if kind == "stock_higher" else "report") for kind in KINDS}


@dataclass(frozen=True)
class ReconcileSettings:
    full_every_hours: int = 24
    focused_every_minutes: int = 60
    low_stock: int = 5
    actions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))

    def repairs(self, kind: str) -> bool:
        return self.actions.get(kind, DEFAULT_ACTIONS.get(kind)) == "repair"


def get_settings(conn: Connection, *, account_id: int) -> ReconcileSettings:
    row = conn.execute(select(reconcile_settings).where(reconcile_settings.c.account_id == account_id)).first()
    if row is None:
        return ReconcileSettings()
    actions = {**DEFAULT_ACTIONS, **{k: v for k, v in (row.actions or {}).items() if k in DEFAULT_ACTIONS}}
    return ReconcileSettings(row.full_every_hours, row.focused_every_minutes, row.low_stock, actions)


def save_settings(conn: Connection, *, account_id: int, settings: ReconcileSettings, now: datetime) -> None:
    values = {
        "full_every_hours": settings.full_every_hours,
        "focused_every_minutes": settings.focused_every_minutes,
        "low_stock": settings.low_stock,
        "actions": dict(settings.actions),
        "updated_at": now,
    }
    stmt = upsert(conn, reconcile_settings).values(account_id=account_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[reconcile_settings.c.account_id], set_=values))


# -- the pass ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassRow:
    affiliate_id: int
    account_id: int
    mode: str | None
    cursor: str | None
    since: datetime | None
    listing_ids: tuple[str, ...]
    started_at: datetime | None
    due_at: datetime | None
    read_count: int
    found_count: int
    last_full_at: datetime | None
    last_focused_at: datetime | None
    last_error: str | None


def _pass(row: Any) -> PassRow:
    return PassRow(
        row.affiliate_id, row.account_id, row.mode, row.cursor, row.since, tuple(row.listing_ids or ()),
        row.started_at, row.due_at, row.read_count, row.found_count, row.last_full_at, row.last_focused_at,
        row.last_error,
    )  # fmt: skip


def passes_of(conn: Connection, affiliate_ids: Iterable[int]) -> dict[int, PassRow]:
    ids = list(affiliate_ids)
    if not ids:
        return {}
    rows = conn.execute(select(reconcile_passes).where(reconcile_passes.c.affiliate_id.in_(ids)))
    return {r.affiliate_id: _pass(r) for r in rows}


def lease_pass(
    conn: Connection, *, affiliate_id: int, account_id: int, owner: str, until: datetime, now: datetime
) -> bool:
    """Take one affiliate's reconciliation for a while: False when another worker holds it."""
    p = reconcile_passes.c
    stmt = upsert(conn, reconcile_passes).values(
        affiliate_id=affiliate_id, account_id=account_id, lease_owner=owner, lease_until=until
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[p.affiliate_id],
        set_={"lease_owner": owner, "lease_until": until},
        where=or_(p.lease_until.is_(None), p.lease_until <= now, p.lease_owner == owner),
    )
    return conn.execute(stmt.returning(p.affiliate_id)).first() is not None


def save_pass(conn: Connection, *, affiliate_id: int, owner: str, values: Mapping[str, Any]) -> None:
    """Write the pass's progress and give the lease back."""
    p = reconcile_passes.c
    conn.execute(
        update(reconcile_passes)
        .where(p.affiliate_id == affiliate_id, p.lease_owner == owner)
        .values(**values, lease_owner=None, lease_until=None)
    )


def update_pass(conn: Connection, *, affiliate_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(reconcile_passes).where(reconcile_passes.c.affiliate_id == affiliate_id).values(**values))


# -- what Ponte knows of the listings a page holds -----------------------------------------------------------


WHOLE = 5_000  # a page of more listings than this reads the affiliate's whole rows (no IN list of that length)


def listing_skus(conn: Connection, *, affiliate_id: int, listing_ids: Sequence[str]) -> dict[str, str]:
    """listing id → SKU, for the listings Ponte keeps among `listing_ids` (a whole shop: `whole_shop`)."""
    c = listings.c
    found: dict[str, str] = {}
    for start in range(0, len(listing_ids), 500):
        chunk = list(listing_ids[start : start + 500])
        query = select(c.listing_id, c.sku).where(c.affiliate_id == affiliate_id, c.listing_id.in_(chunk))
        found.update(dict(conn.execute(query).all()))
    return found


class SkuFact(NamedTuple):
    """What reconciliation compares of a store SKU: its price, whether it sells, its available stock. (A tuple: a
    whole shop's pass makes 100,000 of them.)"""

    id: int
    price: Any
    active: bool
    available: int


def _free() -> Any:
    """Each SKU's available stock, summed by a correlated subquery on its own stock rows: the account's stock grouped
    into a derived table, then indexed for the join, took half again as long for a whole shop of 100,000."""
    return select(func.sum(stock.c.quantity - stock.c.reserved)).where(stock.c.sku_id == skus.c.id).scalar_subquery()


def sku_facts(conn: Connection, *, account_id: int, codes: Sequence[str]) -> dict[str, SkuFact]:
    """The facts of the SKUs among `codes`."""
    base = select(skus.c.sku, skus.c.id, skus.c.price, skus.c.active, _free())
    found: dict[str, SkuFact] = {}
    for start in range(0, len(codes), 500):
        query = base.where(skus.c.account_id == account_id, skus.c.sku.in_(list(codes[start : start + 500])))
        for sku, sku_id, price, active, free in conn.execute(query).tuples():
            found[sku] = SkuFact(sku_id, price, bool(active), max(0, int(free or 0)))
    return found


def whole_shop(conn: Connection, *, account_id: int, affiliate_id: int) -> tuple[dict[str, str], dict[str, SkuFact]]:
    """Every listing the affiliate keeps (listing id → SKU) and the facts of their SKUs, in one walk of the
    listings: a whole shop's pass reads 100,000 of each."""
    query = select(listings.c.listing_id, listings.c.sku, skus.c.id, skus.c.price, skus.c.active, _free()).select_from(
        listings.outerjoin(skus, and_(skus.c.account_id == account_id, skus.c.sku == listings.c.sku))
    )
    listed: dict[str, str] = {}
    facts: dict[str, SkuFact] = {}
    for listing_id, sku, sku_id, price, active, free in conn.execute(
        query.where(listings.c.affiliate_id == affiliate_id)
    ).tuples():
        listed[listing_id] = sku
        if sku_id is not None:
            facts[sku] = SkuFact(sku_id, price, bool(active), max(0, int(free or 0)))
    return listed, facts


def integration_statuses(
    conn: Connection, *, account_id: int, affiliate_id: int, codes: Sequence[str] | None
) -> dict[tuple[str, str], str]:
    """(flow, SKU) → status of the SKUs' catalog integrations with the affiliate (codes None: all of them)."""
    i = integrations.c
    base = select(i.flow, i.entity, i.status).where(
        i.account_id == account_id, i.flow.in_(("product", "price", "inventory")), i.affiliate_id == affiliate_id
    )
    queries = (
        [base]
        if codes is None
        else [base.where(i.entity.in_(list(codes[start : start + 500]))) for start in range(0, len(codes), 500)]
    )
    found: dict[tuple[str, str], str] = {}
    for query in queries:
        found.update({(r.flow, r.entity): r.status for r in conn.execute(query)})
    return found


def last_sent(
    conn: Connection, *, account_id: int, affiliate_id: int, codes: Sequence[str]
) -> dict[tuple[str, str], Any]:
    """(flow, SKU) → what the last successful price or stock send carried, for the few SKUs that drift."""
    i = integrations.c
    found: dict[tuple[str, str], Any] = {}
    for start in range(0, len(codes), 500):
        query = select(i.flow, i.entity, i.last_sent).where(
            i.account_id == account_id,
            i.flow.in_(("price", "inventory")),
            i.affiliate_id == affiliate_id,
            i.entity.in_(list(codes[start : start + 500])),
        )
        found.update({(r.flow, r.entity): r.last_sent for r in conn.execute(query)})
    return found


# The listing ids in one parameter (a JSON array on SQLite, a text[] on PostgreSQL), the trick the queue uses for
# its keys: 100,000 listings marked by one statement, where an executemany spent 2.5 s on 20,000.
_CHECKED = {
    "sqlite": "UPDATE listings SET checked_at = :now WHERE affiliate_id = :affiliate "
    "AND listing_id IN (SELECT value FROM json_each(:ids))",
    "postgresql": "UPDATE listings SET checked_at = :now WHERE affiliate_id = :affiliate "
    "AND listing_id = ANY(CAST(:ids AS text[]))",
}


def mark_checked(conn: Connection, *, affiliate_id: int, listing_ids: Sequence[str], now: datetime) -> None:
    """The listings a read saw, marked with the time it saw them."""
    if not listing_ids:
        return
    ids: Any = orjson.dumps(list(listing_ids)).decode() if conn.dialect.name == "sqlite" else list(listing_ids)
    stmt = text(_CHECKED[conn.dialect.name]).bindparams(bindparam("now", type_=When))
    conn.execute(stmt, {"now": now, "affiliate": affiliate_id, "ids": ids})


def unchecked_listings(conn: Connection, *, affiliate_id: int, before: datetime) -> list[tuple[str, str]]:
    """(listing id, SKU) of the listings no read since `before` has seen: after a complete pass, the missing."""
    query = select(listings.c.listing_id, listings.c.sku).where(
        listings.c.affiliate_id == affiliate_id, or_(listings.c.checked_at.is_(None), listings.c.checked_at < before)
    )
    return [(r.listing_id, r.sku) for r in conn.execute(query)]


def focus_candidates(
    conn: Connection, *, account_id: int, affiliate_id: int, sent_since: datetime, limit: int
) -> list[str]:
    """Listing ids of the SKUs whose price or stock was sent to the affiliate since `sent_since`, newest first."""
    i = integrations.c
    query = (
        select(listings.c.listing_id)
        .select_from(
            integrations.join(listings, and_(listings.c.affiliate_id == i.affiliate_id, listings.c.sku == i.entity))
        )
        .where(
            i.account_id == account_id,
            i.affiliate_id == affiliate_id,
            i.flow.in_(("price", "inventory")),
            i.processed_at >= sent_since,
        )
        .group_by(listings.c.listing_id)
        .order_by(func.max(i.processed_at).desc())
        .limit(limit)
    )
    return [r.listing_id for r in conn.execute(query)]


def low_stock_listings(conn: Connection, *, account_id: int, affiliate_id: int, at_most: int, limit: int) -> list[str]:
    """Listing ids of the SKUs whose available stock is at most `at_most` (where overselling starts)."""
    available = func.coalesce(func.sum(stock.c.quantity - stock.c.reserved), 0)
    query = (
        select(listings.c.listing_id)
        .select_from(
            listings.join(
                skus, and_(skus.c.account_id == listings.c.account_id, skus.c.sku == listings.c.sku)
            ).outerjoin(stock, stock.c.sku_id == skus.c.id)
        )
        .where(listings.c.account_id == account_id, listings.c.affiliate_id == affiliate_id)
        .group_by(listings.c.listing_id)
        .having(available <= at_most)
        .order_by(available)
        .limit(limit)
    )
    return [r.listing_id for r in conn.execute(query)]


def note_held_status(conn: Connection, *, affiliate_id: int, listing_id: str, status: str | None) -> None:
    """Keep in the listing's facts what the marketplace holds of its status (`data["held"]`), for its connector."""
    c = listings.c
    row = conn.execute(select(c.sku, c.data).where(c.affiliate_id == affiliate_id, c.listing_id == listing_id)).first()
    if row is not None:
        data = {**(row.data or {}), "held": {"status": status}}
        conn.execute(update(listings).where(c.affiliate_id == affiliate_id, c.sku == row.sku).values(data=data))


# -- drifts ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """One difference found: what the store says, what Ponte last sent, what the marketplace holds."""

    listing_id: str
    sku: str | None
    kind: str
    store_value: str | None = None
    sent_value: str | None = None
    held_value: str | None = None
    cause: str | None = None


def record_drifts(
    conn: Connection, *, account_id: int, affiliate_id: int, found: Sequence[Drift], now: datetime
) -> list[int]:
    """Keep each drift found (a new one opens, one found again is refreshed, a resolved one reopens); returns the
    ids of the drifts that opened now (they were not open before)."""
    if not found:
        return []
    d = drifts.c
    listing_ids = sorted({f.listing_id for f in found})

    def known() -> dict[tuple[str, str], tuple[int, str]]:
        rows: dict[tuple[str, str], tuple[int, str]] = {}
        for start in range(0, len(listing_ids), 500):
            query = select(d.id, d.listing_id, d.kind, d.status).where(
                d.affiliate_id == affiliate_id, d.listing_id.in_(listing_ids[start : start + 500])
            )
            rows.update({(r.listing_id, r.kind): (r.id, r.status) for r in conn.execute(query)})
        return rows

    before = known()
    fresh: list[dict[str, Any]] = []
    again: list[dict[str, Any]] = []
    reopened: list[dict[str, Any]] = []
    for drift in found:
        values = {
            "sku": drift.sku, "store_value": drift.store_value, "sent_value": drift.sent_value,
            "held_value": drift.held_value, "cause": (drift.cause or "")[:200] or None, "seen_at": now,
        }  # fmt: skip
        row = before.get((drift.listing_id, drift.kind))
        if row is None:
            fresh.append({"account_id": account_id, "affiliate_id": affiliate_id, "listing_id": drift.listing_id,
                          "kind": drift.kind, "status": "open", "found_at": now, **values})  # fmt: skip
        else:
            (reopened if row[1] == "resolved" else again).append({"b_id": row[0], **values})
    if fresh:
        conn.execute(insert(drifts), fresh)
    changes: dict[str, Any] = {
        k: bindparam(k) for k in ("sku", "store_value", "sent_value", "held_value", "cause", "seen_at")
    }
    if again:
        conn.execute(update(drifts).where(d.id == bindparam("b_id")).values(**changes), again)
    if reopened:
        opening: dict[str, Any] = {
            "status": "open",
            "found_at": bindparam("seen_at"),
            "repaired_at": None,
            "resolved_at": None,
        }
        conn.execute(update(drifts).where(d.id == bindparam("b_id")).values(**changes, **opening), reopened)
    after = known()
    new_keys = {(str(f["listing_id"]), str(f["kind"])) for f in fresh}
    return sorted([after[k][0] for k in new_keys] + [r["b_id"] for r in reopened])


def resolve_drifts(
    conn: Connection, *, affiliate_id: int, listing_ids: Sequence[str], keep: set[tuple[str, str]], now: datetime
) -> int:
    """The open drifts of these listings that the read did not find again are resolved; returns how many. The
    affiliate's open drifts are few: read at once and matched here, whatever the size of the page."""
    d = drifts.c
    looked_at = set(listing_ids)
    rows = conn.execute(select(d.id, d.listing_id, d.kind).where(d.affiliate_id == affiliate_id, d.status.in_(OPEN)))
    ids = [r.id for r in rows if r.listing_id in looked_at and (r.listing_id, r.kind) not in keep]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(update(drifts).where(d.id.in_(chunk)).values(status="resolved", resolved_at=now))
    return len(ids)


def mark_repairing(conn: Connection, *, ids: Sequence[int], now: datetime) -> None:
    if ids:
        conn.execute(update(drifts).where(drifts.c.id.in_(list(ids))).values(status="repairing", repaired_at=now))


@dataclass(frozen=True)
class DriftRow:
    id: int
    affiliate_id: int
    listing_id: str
    sku: str | None
    kind: str
    status: str
    store_value: str | None
    sent_value: str | None
    held_value: str | None
    cause: str | None
    found_at: datetime
    seen_at: datetime
    repaired_at: datetime | None


def _drift(row: Any) -> DriftRow:
    return DriftRow(**{name: getattr(row, name) for name in DriftRow.__dataclass_fields__})


def list_drifts(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int | None = None,
    kind: str | None = None,
    ids: Sequence[int] | None = None,
    sku: str | None = None,
    listing_ids: Sequence[str] | None = None,
    open_only: bool = True,
    limit: int | None = 500,
) -> list[DriftRow]:
    d = drifts.c
    where = [d.account_id == account_id]
    if listing_ids is not None:
        where.append(d.listing_id.in_(list(listing_ids)))
    if affiliate_id is not None:
        where.append(d.affiliate_id == affiliate_id)
    if kind is not None:
        where.append(d.kind == kind)
    if ids is not None:
        where.append(d.id.in_(list(ids)))
    if sku is not None:
        where.append(d.sku == sku)
    if open_only:
        where.append(d.status.in_(OPEN))
    query = select(drifts).where(*where).order_by(d.found_at.desc(), d.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_drift(r) for r in conn.execute(query)]


def drift_counts(conn: Connection, *, account_id: int, affiliate_id: int | None = None) -> dict[str, int]:
    """Open drifts per kind (every kind present, 0 where none)."""
    d = drifts.c
    where = [d.account_id == account_id, d.status.in_(OPEN)]
    if affiliate_id is not None:
        where.append(d.affiliate_id == affiliate_id)
    rows = conn.execute(select(d.kind, func.count()).where(*where).group_by(d.kind))
    return {kind: 0 for kind in KINDS} | {r[0]: int(r[1]) for r in rows}


def oversell_counts(conn: Connection, *, account_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """(account, affiliate) → open stock-higher drifts, for the alert rule."""
    d = drifts.c
    rows = conn.execute(
        select(d.account_id, d.affiliate_id, func.count())
        .where(d.account_id.in_(list(account_ids)), d.kind == "stock_higher", d.status.in_(OPEN))
        .group_by(d.account_id, d.affiliate_id)
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


def forget_drifts(conn: Connection, *, affiliate_id: int) -> None:
    conn.execute(delete(drifts).where(drifts.c.affiliate_id == affiliate_id))
