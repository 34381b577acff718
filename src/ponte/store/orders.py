"""The orders list's queries: one page of a store's orders by a filter, and the integrations of those orders.

An order's steps live in three integrations: its import from the marketplace (flow `order`, the order's own
affiliate), its hand-off to each ERP (flow `order`, an ERP affiliate) and its tracking sent back (flow
`tracking`, the order's affiliate). The invoice is a fact of the order row (`invoice_key`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, exists, false, or_, select

from ponte.domain import Flow
from ponte.store.tables import affiliates, integrations, orders

STEPS = ("import", "erp", "invoice", "tracking")
# Worst first: the order a list shows an order's steps in when it names "the worst step".
SEVERITY = ("error", "warning", "pending", "success")


@dataclass(frozen=True)
class OrderQuery:
    """What the orders list asks for: every field optional, all of them together (AND)."""

    affiliates: tuple[str, ...] = ()  # marketplace codes
    statuses: tuple[str, ...] = ()  # of `step`, or of the order's worst step when no step is named
    step: str | None = None  # one of STEPS
    received_from: datetime | None = None
    received_to: datetime | None = None  # exclusive
    prefix: str | None = None  # order id prefix
    after: tuple[datetime, int] | None = None  # keyset: (received_at, id) of the previous page's last order


def erp_ids(conn: Connection, account_id: int) -> list[int]:
    query = select(affiliates.c.id).where(affiliates.c.account_id == account_id, affiliates.c.kind == "erp")
    return [int(i) for i in conn.execute(query).scalars()]


def _step_rows(step: str, erps: Sequence[int]) -> ColumnElement[bool]:
    """The integrations of the order in the outer query that make up `step`."""
    i, o = integrations.c, orders.c
    mine = and_(i.account_id == o.account_id, i.entity == o.external_id)
    if step == "import":
        return and_(mine, i.flow == Flow.ORDER.value, i.affiliate_id == o.affiliate_id)
    if step == "erp":
        return and_(mine, i.flow == Flow.ORDER.value, i.affiliate_id.in_(erps)) if erps else false()
    return and_(mine, i.flow == Flow.TRACKING.value, i.affiliate_id == o.affiliate_id)


def _step_in(step: str, statuses: Sequence[str], erps: Sequence[int]) -> ColumnElement[bool]:
    if step == "invoice":  # invoiced is done; anything else is still to come
        wants_done, wants_open = "success" in statuses, bool(set(statuses) - {"success"})
        done = orders.c.invoice_key.is_not(None)
        return or_(done if wants_done else false(), ~done if wants_open else false())
    return exists().where(_step_rows(step, erps), integrations.c.status.in_(statuses))


def _worst_is(status: str, erps: Sequence[int]) -> ColumnElement[bool]:
    """The order's worst integration step has `status`: some step has it, none has a worse one."""
    steps = ("import", "erp", "tracking")
    worse = SEVERITY[: SEVERITY.index(status)]
    has = or_(*(_step_in(s, [status], erps) for s in steps))
    if not worse:
        return has
    return and_(has, *(~_step_in(s, worse, erps) for s in steps))


def list_orders(conn: Connection, *, account_id: int, query: OrderQuery, limit: int) -> list[Any]:
    """A page of orders (newest received first) with their marketplace's code and name."""
    o = orders.c
    erps = erp_ids(conn, account_id) if query.statuses else []
    stmt = (
        select(orders, affiliates.c.code.label("affiliate_code"), affiliates.c.name.label("affiliate_name"))
        .join(affiliates, affiliates.c.id == o.affiliate_id)
        .where(o.account_id == account_id)
        .order_by(o.received_at.desc(), o.id.desc())
        .limit(limit)
    )
    if query.affiliates:
        stmt = stmt.where(affiliates.c.code.in_(query.affiliates))
    if query.prefix:
        stmt = stmt.where(o.external_id.startswith(query.prefix, autoescape=True))
    if query.received_from:
        stmt = stmt.where(o.received_at >= query.received_from)
    if query.received_to:
        stmt = stmt.where(o.received_at < query.received_to)
    if query.statuses:
        if query.step:
            stmt = stmt.where(_step_in(query.step, query.statuses, erps))
        else:
            stmt = stmt.where(or_(*(_worst_is(s, erps) for s in query.statuses)))
    if query.after:
        when, last_id = query.after
        stmt = stmt.where(or_(o.received_at < when, and_(o.received_at == when, o.id < last_id)))
    return list(conn.execute(stmt))


def integrations_of_orders(conn: Connection, *, account_id: int, order_ids: Sequence[str]) -> list[Any]:
    """The order and tracking integrations of these orders, with each affiliate's kind."""
    if not order_ids:
        return []
    i = integrations.c
    stmt = (
        select(i.id, i.flow, i.entity, i.affiliate_id, i.status, i.message, affiliates.c.code, affiliates.c.kind)
        .join(affiliates, affiliates.c.id == i.affiliate_id)
        .where(
            i.account_id == account_id,
            i.entity.in_(list(order_ids)),
            i.flow.in_((Flow.ORDER.value, Flow.TRACKING.value)),
        )
    )
    return list(conn.execute(stmt))


def find_order(
    conn: Connection, *, account_id: int, external_id: str, affiliate_code: str | None = None
) -> Row[Any] | None:
    """The orders row of this marketplace id (of this affiliate, when given), with the affiliate's code and name."""
    query = (
        select(orders, affiliates.c.code.label("affiliate_code"), affiliates.c.name.label("affiliate_name"))
        .join(affiliates, affiliates.c.id == orders.c.affiliate_id)
        .where(orders.c.account_id == account_id, orders.c.external_id == external_id)
    )
    if affiliate_code:
        query = query.where(affiliates.c.code == affiliate_code)
    return conn.execute(query).first()
