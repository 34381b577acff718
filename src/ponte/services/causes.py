"""Follow-on errors under their root cause: a price or stock send refused because the marketplace has not listed
the product ("Not sent: … has not listed this product yet", code `product_not_listed`) is the product's error
seen again. The causes view counts it under the product's own cause instead of as a group of its own."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import Connection, and_, func, select

from ponte.domain import Flow, Status
from ponte.services.connections import Cause
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations

FOLLOW_ON_CODE = "product_not_listed"


@dataclass
class RootedCause:
    """A cause group with the follow-on errors it explains (the flows they were in, and how many)."""

    cause: Cause
    follow_ons: int = 0
    follow_on_flows: list[str] = field(default_factory=list)


def _follow_on_groups(
    conn: Connection, account_id: int, filter: IntegrationFilter
) -> list[tuple[str | None, str | None, str | None, str | None, str, int]]:
    """(follow-on category, follow-on key, root category, root key, flow, n) for follow-on errors whose product
    integration is in error."""
    root_table = integrations.alias("root")
    follow, root = integrations.c, root_table.c
    key = func.coalesce(follow.cause, follow.message)
    root_key = func.coalesce(root.cause, root.message)
    query = (
        select(follow.category, key, root.category, root_key, follow.flow, func.count())
        .join_from(
            integrations,
            root_table,
            and_(
                root.account_id == follow.account_id,
                root.affiliate_id == follow.affiliate_id,
                root.entity == follow.entity,
                root.flow == Flow.PRODUCT.value,
                root.status == Status.ERROR.value,
            ),
        )
        .where(*filter.conditions_on(conn, account_id), follow.code == FOLLOW_ON_CODE)
        .group_by(follow.category, key, root.category, root_key, follow.flow)
    )
    return [(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in conn.execute(query)]


def rooted_causes(
    conn: Connection, *, account_id: int, filter: IntegrationFilter, causes: list[Cause]
) -> list[RootedCause]:
    """`causes` with each follow-on error counted under its product's cause when that cause is in the list; a
    follow-on group whose every row found its root disappears. Largest first (root and follow-ons together)."""
    errors = filter if filter.statuses else replace(filter, statuses=(Status.ERROR.value,))
    rooted = {(c.category, c.cause): RootedCause(c) for c in causes}
    for f_cat, f_key, r_cat, r_key, flow, n in _follow_on_groups(conn, account_id, errors):
        root, follow = rooted.get((r_cat, r_key)), rooted.get((f_cat, f_key))
        if root is None or follow is None:
            continue  # the root is not shown (another filter, or not an error): the follow-on stays by itself
        root.follow_ons += n
        if flow not in root.follow_on_flows:
            root.follow_on_flows.append(flow)
        follow.cause.count -= n
    kept = [r for r in rooted.values() if r.cause.count > 0]
    return sorted(kept, key=lambda r: (-(r.cause.count + r.follow_ons), r.cause.category or "", r.cause.cause or ""))
