"""Follow-on errors under their root cause: a price or stock send refused because the marketplace has not listed
the product ("Not sent: … has not listed this product yet", code `product_not_listed`) is the product's error
seen again. The causes view counts it under the product's own cause instead of as a group of its own."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import Connection

from ponte.domain import Status
from ponte.services.connections import Cause
from ponte.store.connections import follow_on_groups
from ponte.store.filters import IntegrationFilter

FOLLOW_ON_CODE = "product_not_listed"


@dataclass
class RootedCause:
    """A cause group with the follow-on errors it explains (the flows they were in, and how many)."""

    cause: Cause
    follow_ons: int = 0
    follow_on_flows: list[str] = field(default_factory=list)


def rooted_causes(
    conn: Connection, *, account_id: int, filter: IntegrationFilter, causes: list[Cause]
) -> list[RootedCause]:
    """`causes` with each follow-on error counted under its product's cause when that cause is in the list; a
    follow-on group whose every row found its root disappears. Largest first (root and follow-ons together)."""
    errors = filter if filter.statuses else replace(filter, statuses=(Status.ERROR.value,))
    rooted = {(c.category, c.cause): RootedCause(c) for c in causes}
    for f_cat, f_key, r_cat, r_key, flow, n in follow_on_groups(
        conn, account_id=account_id, filter=errors, code=FOLLOW_ON_CODE
    ):
        root, follow = rooted.get((r_cat, r_key)), rooted.get((f_cat, f_key))
        if root is None or follow is None:
            continue  # the root is not shown (another filter, or not an error): the follow-on stays by itself
        root.follow_ons += n
        if flow not in root.follow_on_flows:
            root.follow_on_flows.append(flow)
        follow.cause.count -= n
    kept = [r for r in rooted.values() if r.cause.count > 0]
    return sorted(kept, key=lambda r: (-(r.cause.count + r.follow_ons), r.cause.category or "", r.cause.cause or ""))
