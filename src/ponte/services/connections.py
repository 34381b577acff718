"""The Connections query layer: integration lists, details, counts, causes, order history and the SKU matrix.

UI-agnostic: the web pages, the REST API and the CLI call these with a Connection they own, and every
query is scoped to `account_id` through `IntegrationFilter.conditions`. Lists page by keyset
(processed_at DESC, id ASC) with opaque cursors, never OFFSET, so page 1000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from ponte.domain import SKU_FLOWS, Flow, Status
from ponte.domain.messages import say
from ponte.services.errors import InputError, NotFound
from ponte.store import connections as store
from ponte.store.affiliates import Affiliate, account_affiliates

# The records and recent_attempts are the store's, named here too for the edges that know this module.
from ponte.store.connections import Attempt, IntegrationRow, recent_attempts  # noqa: F401
from ponte.store.counters import read_cause_counts, read_status_counts
from ponte.store.filters import IntegrationFilter
from ponte.store.orders import find_order
from ponte.store.skus import Sku, find_sku

MAX_LIMIT = 500
# Filtered counts stop here: a badge that says "10,000+" is as useful as an exact one and never scans millions.
COUNT_CAP = 10_000
STATUSES = tuple(s.value for s in (Status.ERROR, Status.WARNING, Status.PENDING, Status.SUCCESS))


@dataclass(frozen=True)
class Page:
    rows: list[IntegrationRow]
    next_cursor: str | None


@dataclass(frozen=True)
class IntegrationDetail:
    row: IntegrationRow
    attempts: list[Attempt]  # newest first
    more_attempts: bool  # True when older attempts were left out


@dataclass(frozen=True)
class Counts:
    """Rows per status. `capped` statuses have at least the number shown (COUNT_CAP reached)."""

    by_status: dict[str, int]
    capped: frozenset[str] = frozenset()

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass
class Cause:
    """A group of failing integrations with one cause: same category and normalised message."""

    category: str | None
    cause: str | None
    count: int
    sample_message: str | None
    last_at: datetime | None
    affiliates: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OrderHistory:
    order_id: str
    order: Any  # the orders row (with affiliate_code) when the store has it, else None
    integrations: list[IntegrationRow]
    attempts: list[Attempt]  # every attempt to any system, newest first


@dataclass(frozen=True)
class SkuMatrix:
    sku: str
    catalog: Sku | None  # None when only integrations know this code
    flows: list[str]
    affiliates: list[Affiliate]  # as columns
    cells: dict[tuple[str, int], IntegrationRow]  # (flow, affiliate_id) -> integration
    history: list[Attempt]


# -- cursors ---------------------------------------------------------------------------------------


def check_date_range(date_from: datetime | None, date_to: datetime | None, *, field: str = "to") -> None:
    """A range whose end is not after its start is a mistake (the dates swapped), not an empty list."""
    if date_from is not None and date_to is not None and date_to <= date_from:
        raise InputError(say("msg.input.reversed_dates"), field=field)


def encode_cursor(row: IntegrationRow) -> str:
    data = {"p": row.processed_at.isoformat() if row.processed_at else None, "i": row.id}
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    """(processed_at, id) of the last row of the previous page; InputError when the cursor is not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        when = datetime.fromisoformat(data["p"]) if data["p"] is not None else None
        if when is not None and when.tzinfo is None:
            raise ValueError("naive time")
        return when, int(data["i"])
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InputError(say("msg.input.bad_cursor"), field="cursor")


def list_integrations(
    conn: Connection, *, account_id: int, filter: IntegrationFilter, cursor: str | None = None, limit: int = 50
) -> Page:
    """One page of integrations matching `filter`, newest processing first; `next_cursor` is None on the last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(say("msg.input.limit", maximum=MAX_LIMIT), field="limit")
    after = decode_cursor(cursor) if cursor else None
    rows = store.filtered_rows(conn, account_id=account_id, filter=filter, after=after, limit=limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_cursor=encode_cursor(rows[-1]) if has_more and rows else None)


def iter_integrations(
    conn: Connection, *, account_id: int, filter: IntegrationFilter, batch: int = 1000
) -> Iterable[IntegrationRow]:
    """Every integration matching `filter`, in list order, fetched in keyset batches (for exports)."""
    cursor: str | None = None
    while True:
        page = list_integrations(conn, account_id=account_id, filter=filter, cursor=cursor, limit=min(batch, MAX_LIMIT))
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def current_rows(conn: Connection, *, account_id: int, ids: Sequence[int]) -> list[IntegrationRow]:
    """The current state of these integrations of the account (live refresh); unknown ids are left out."""
    if not ids:
        return []
    return store.rows_by_id(conn, account_id=account_id, ids=list(ids)[:MAX_LIMIT])


# -- details ---------------------------------------------------------------------------------------


def get_integration(
    conn: Connection, *, account_id: int, integration_id: int, attempt_limit: int = 100
) -> IntegrationDetail:
    """An integration with its attempts newest first, bodies included. NotFound for another account's id."""
    found = store.find_row(conn, account_id=account_id, integration_id=integration_id)
    if found is None:
        raise NotFound(say("msg.not_found.integration", id=integration_id))
    got = store.integration_attempts(
        conn, account_id=account_id, integration_id=integration_id, limit=attempt_limit + 1
    )
    return IntegrationDetail(row=found, attempts=got[:attempt_limit], more_attempts=len(got) > attempt_limit)


# -- counts ----------------------------------------------------------------------------------------


def counted_by_counters(filter: IntegrationFilter) -> bool:
    """Whether `tab_counts` reads this filter's counts from the kept counters (cheap to ask again and again)."""
    return _is_plain(filter)


def _is_plain(filter: IntegrationFilter) -> bool:
    """A filter a per-(account, flow, affiliate, status) counters table can answer exactly."""
    return not (filter.categories or filter.date_from or filter.date_to or filter.entity_prefix or filter.words)


def tab_counts(conn: Connection, *, account_id: int, flow: str | None, filter: IntegrationFilter) -> Counts:
    """Rows per status for a tab under `filter` (its own status choice ignored, so every status shows).

    Plain filters (flow, affiliates) are exact and read from the kept counters, never from the rows.
    Other filters count each status up to COUNT_CAP, so a page view never scans millions of rows.
    """
    base = replace(filter, flow=flow, statuses=())
    if _is_plain(base):
        wanted = store.affiliate_ids(conn, account_id=account_id, codes=base.affiliates) if base.affiliates else None
        got: dict[str, int] = {}
        for (_flow, affiliate_id, status), n in read_status_counts(conn, account_id=account_id, flow=flow).items():
            if wanted is None or affiliate_id in wanted:
                got[status] = got.get(status, 0) + n
        return Counts({s: got.get(s, 0) for s in STATUSES})
    counts = store.capped_status_counts(conn, account_id=account_id, filter=base, statuses=STATUSES, cap=COUNT_CAP)
    capped = {status for status, n in counts.items() if n > COUNT_CAP}
    counts = {status: min(n, COUNT_CAP) for status, n in counts.items()}
    return Counts(counts, frozenset(capped))


def flow_error_counts(conn: Connection, *, account_id: int) -> dict[str, int]:
    """Errors per flow, for the tab badges (exact, from the kept counters)."""
    errors: dict[str, int] = {}
    for (flow, _affiliate_id, status), n in read_status_counts(conn, account_id=account_id).items():
        if status == Status.ERROR.value and n:
            errors[flow] = errors.get(flow, 0) + n
    return errors


# -- causes ----------------------------------------------------------------------------------------


def list_causes(conn: Connection, *, account_id: int, filter: IntegrationFilter, limit: int = 200) -> list[Cause]:
    """Failing integrations grouped by (category, normalised message), largest group first.

    The filter's statuses default to errors (give others, e.g. warning, to group those). Errors under a plain
    filter (flow, affiliates, categories) come from the kept cause counts, never from grouping every row.
    """
    if _counted_causes(filter):
        fast = _causes_from_counters(conn, account_id, filter, limit)
        if fast is not None:
            return fast
    base = filter if filter.statuses else replace(filter, statuses=(Status.ERROR.value,))
    groups: dict[tuple[str | None, str | None], Cause] = {}
    for r in store.cause_groups(conn, account_id=account_id, filter=base):
        cause = groups.setdefault((r.category, r.cause_key), Cause(r.category, r.cause_key, 0, r.sample, r.last_at))
        cause.count += r.count
        if r.last_at and (cause.last_at is None or r.last_at > cause.last_at):
            cause.last_at = r.last_at
        if r.affiliate_code not in cause.affiliates:
            cause.affiliates.append(r.affiliate_code)
        if r.flow not in cause.flows:
            cause.flows.append(r.flow)
    ranked = sorted(groups.values(), key=lambda c: (-c.count, c.category or "", c.cause or ""))
    flow_order = [f.value for f in Flow]
    for cause in ranked:
        cause.affiliates.sort()
        cause.flows.sort(key=lambda f: flow_order.index(f) if f in flow_order else len(flow_order))
    return ranked[:limit]


def _counted_causes(filter: IntegrationFilter) -> bool:
    plain = not (filter.date_from or filter.date_to or filter.entity_prefix or filter.words or filter.cause)
    return plain and filter.statuses in ((), (Status.ERROR.value,))


def _causes_from_counters(
    conn: Connection, account_id: int, filter: IntegrationFilter, limit: int
) -> list[Cause] | None:
    """Causes from the cause counts, each with its newest example; None when some errors have no cause
    recorded (they group by their raw message, which only the rows know)."""
    codes = store.affiliate_codes(conn, account_id=account_id)
    wanted = {i for i, code in codes.items() if code in filter.affiliates} if filter.affiliates else None
    counts = read_cause_counts(
        conn, account_id=account_id, flows=(filter.flow,) if filter.flow else (), categories=filter.categories
    )
    groups: dict[tuple[str, str], Cause] = {}
    for (category, cause, flow, affiliate_id), n in counts.items():
        if wanted is not None and affiliate_id not in wanted:
            continue
        if not cause:
            return None
        group = groups.setdefault((category, cause), Cause(category or None, cause, 0, None, None))
        group.count += n
        if codes.get(affiliate_id) not in group.affiliates:
            group.affiliates.append(codes.get(affiliate_id, str(affiliate_id)))
        if flow not in group.flows:
            group.flows.append(flow)
    ranked = sorted(groups.values(), key=lambda c: (-c.count, c.category or "", c.cause or ""))[:limit]
    flow_order = [f.value for f in Flow]
    for group in ranked:
        group.affiliates.sort()
        group.flows.sort(key=lambda f: flow_order.index(f) if f in flow_order else len(flow_order))
    examples = store.newest_examples(
        conn,
        account_id=account_id,
        flow=filter.flow,
        affiliate_ids=sorted(wanted) if wanted is not None else None,
        groups=[(g.category, g.cause) for g in ranked],
    )
    for n, group in enumerate(ranked):
        group.sample_message, group.last_at = examples.get(n, (None, None))
    return ranked


# -- order history and SKU matrix -------------------------------------------------------------------


def order_history(conn: Connection, *, account_id: int, order_id: str, limit: int = 500) -> OrderHistory:
    """Every attempt to send one order to any system (marketplace, ERP), newest first. NotFound if unknown."""
    order = find_order(conn, account_id=account_id, external_id=order_id)
    order_flows = (Flow.ORDER.value, Flow.TRACKING.value)
    rows = store.entity_rows(conn, account_id=account_id, entity=order_id, flows=order_flows)
    if order is None and not rows:
        raise NotFound(say("msg.not_found.order", order=order_id))
    history = store.entity_history(conn, account_id=account_id, entity=order_id, flows=order_flows, limit=limit)
    return OrderHistory(order_id=order_id, order=order, integrations=rows, attempts=history)


def sku_matrix(conn: Connection, *, account_id: int, sku: str, history_limit: int = 100) -> SkuMatrix:
    """One SKU in every SKU flow × affiliate, its catalog data and its recent history. NotFound if unknown."""
    catalog = find_sku(conn, account_id=account_id, sku=sku)
    flows = [f.value for f in SKU_FLOWS]
    rows = store.entity_rows(conn, account_id=account_id, entity=sku, flows=flows)
    if catalog is None and not rows:
        raise NotFound(say("msg.not_found.sku", sku=sku))
    used = {r.affiliate_id for r in rows}
    columns = [
        a
        for a in account_affiliates(conn, account_id=account_id)
        if a.id in used or (a.kind == "marketplace" and a.enabled)
    ]
    cells = {(r.flow, r.affiliate_id): r for r in rows}
    history = store.entity_history(conn, account_id=account_id, entity=sku, flows=flows, limit=history_limit)
    return SkuMatrix(sku=sku, catalog=catalog, flows=flows, affiliates=columns, cells=cells, history=history)
