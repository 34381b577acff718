"""The orders list: each order with its whole state (imported, sent to the ERP, invoiced, tracking sent) and
the worst of those steps, paged by keyset and filtered like the Connections tabs."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from ponte.domain import Flow
from ponte.domain.messages import say
from ponte.services.errors import InputError
from ponte.store import orders as store
from ponte.store.orders import SEVERITY, STEPS, OrderQuery

__all__ = ["STEPS", "OrderLine", "OrderPage", "OrderQuery", "OrderStep", "list_orders"]
MAX_PAGE = 200


@dataclass(frozen=True)
class OrderStep:
    """One step of an order: its status ("success", "error"…, or None when it has not happened yet)."""

    step: str  # import | erp | invoice | tracking
    status: str | None
    integration_id: int | None = None
    message: str | None = None
    system: str | None = None  # the affiliate code that step went to


@dataclass(frozen=True)
class OrderLine:
    id: int
    external_id: str
    affiliate_code: str
    affiliate_name: str
    state: str  # the order's own state: received | placed | invoiced | cancelled | refused
    received_at: datetime
    total: Any
    steps: tuple[OrderStep, ...]

    @property
    def worst(self) -> OrderStep | None:
        """The step to look at first: the worst status, the earliest step among equals."""
        done = [s for s in self.steps if s.status in SEVERITY]
        return min(done, key=lambda s: SEVERITY.index(s.status or "success"), default=None)


@dataclass(frozen=True)
class OrderPage:
    orders: list[OrderLine]
    next_cursor: str | None


def _cursor(line: OrderLine) -> str:
    data = {"r": line.received_at.isoformat(), "i": line.id}
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(data["r"])
        if when.tzinfo is None:
            raise ValueError("naive time")
        return when, int(data["i"])
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InputError(say("msg.input.bad_cursor"), field="cursor")


def _steps(order: Any, rows: list[Any]) -> tuple[OrderStep, ...]:
    mine = [r for r in rows if r.entity == order.external_id]

    def step(name: str, picked: list[Any]) -> OrderStep:
        if not picked:
            return OrderStep(name, None)
        worst = min(picked, key=lambda r: SEVERITY.index(r.status) if r.status in SEVERITY else 0)
        return OrderStep(name, worst.status, worst.id, worst.message, worst.code)

    own = [r for r in mine if r.affiliate_id == order.affiliate_id]
    imported = step("import", [r for r in own if r.flow == Flow.ORDER.value])
    erp = step("erp", [r for r in mine if r.flow == Flow.ORDER.value and r.kind == "erp"])
    invoice = OrderStep("invoice", "success" if order.invoice_key else None)
    tracking = step("tracking", [r for r in own if r.flow == Flow.TRACKING.value])
    return (imported, erp, invoice, tracking)


def list_orders(
    conn: Connection, *, account_id: int, query: OrderQuery, cursor: str | None = None, limit: int = 100
) -> OrderPage:
    """One page of the store's orders, newest received first; `next_cursor` when more follow."""
    if query.step is not None and query.step not in STEPS:
        raise InputError(say("msg.input.one_of", field="step", choices=", ".join(STEPS)), field="step")
    limit = max(1, min(limit, MAX_PAGE))
    if cursor:
        query = replace(query, after=_decode(cursor))
    found = store.list_orders(conn, account_id=account_id, query=query, limit=limit + 1)
    page = found[:limit]
    rows = store.integrations_of_orders(conn, account_id=account_id, order_ids=[o.external_id for o in page])
    lines = [
        OrderLine(
            id=o.id,
            external_id=o.external_id,
            affiliate_code=o.affiliate_code,
            affiliate_name=o.affiliate_name,
            state=o.status,
            received_at=o.received_at,
            total=o.total,
            steps=_steps(o, rows),
        )
        for o in page
    ]
    more = len(found) > limit
    return OrderPage(lines, _cursor(lines[-1]) if more and lines else None)
