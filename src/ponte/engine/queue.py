"""What to queue: a catalog change for the marketplaces that can carry it, a reprocess recorded in the audit log.

The queue's own statements (claims, leases, recording attempts) live in ponte.store.queue; the few of them the
layers above call (marking changes, counting what a reprocess would queue, appending reported attempts) are
importable from here too, where they queue through the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ponte.clock import now as clock_now
from ponte.connectors.capabilities import supports
from ponte.domain import Flow, Trigger
from ponte.store.affiliates import enabled_connectors
from ponte.store.audit import record
from ponte.store.filters import IntegrationFilter
from ponte.store.queue import append_attempts, count_reprocessable, mark_changed, requeue

__all__ = [
    "append_attempts",
    "count_reprocessable",
    "mark_catalog_changed",
    "mark_changed",
    "reprocess_integrations",
]


def mark_catalog_changed(
    conn: Connection, account_id: int, codes: Mapping[Flow, list[str]], actor: str | None = None
) -> int:
    """Queue each flow's SKUs for every enabled marketplace of the account: one `mark_changed` per flow. Returns
    the integrations marked."""
    wanted = {flow: flow_codes for flow, flow_codes in codes.items() if flow_codes}
    if not wanted:
        return 0
    marketplaces = enabled_connectors(conn, account_id=account_id, kind="marketplace")
    marked = 0
    for flow, flow_codes in wanted.items():
        # Only the marketplaces whose connector can carry the flow (capabilities.py): nothing is queued for one
        # that cannot, where it would fail for ever.
        targets = [a for a, connector in marketplaces if supports(connector, flow.value, "marketplace")]
        marked += mark_changed(
            conn,
            account_id=account_id,
            flow=flow.value,
            keys=[(a, c) for a in targets for c in flow_codes],
            trigger=Trigger.CHANGE,
            actor=actor,
        )
    return marked


def reprocess_integrations(
    conn: Connection,
    *,
    account_id: int,
    actor: str,
    ids: Sequence[int] | None = None,
    filter: IntegrationFilter | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """Queue integrations to run again with the store's current data; returns how many were queued.

    Give `ids`, or a `filter` (everything it matches). Rows already pending are left as they are, so a
    second click while the first is queued changes nothing. Recorded in the audit log with actor and reason.
    """
    if ids is None and filter is None:
        raise ValueError("reprocess needs ids or a filter")
    when = now or clock_now()
    count = requeue(conn, account_id=account_id, actor=actor, ids=ids, filter=filter, reason=reason, now=when)
    detail: dict[str, Any] = {"count": count, "reason": reason}
    if ids is not None:
        detail["ids"] = list(ids)[:100]
    if filter is not None:
        detail["filter"] = {k: v for k, v in filter.__dict__.items() if v not in (None, (), {})}
    record(conn, account_id=account_id, actor=actor, action="reprocess", detail=detail)
    return count
