"""Reconciliation as the pages, the API and the CLI use it: an affiliate's drifts, their repair on request, the
account's settings, the export. Keyword-only functions that never commit."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.registry import get_connector_class
from ponte.domain import Trigger
from ponte.domain.messages import say
from ponte.engine.queue import mark_changed
from ponte.exports import neutralise
from ponte.services.errors import InputError, NotFound
from ponte.store import reconcile as store
from ponte.store.affiliates import Affiliate, affiliates_by_id
from ponte.store.audit import record
from ponte.store.reconcile import KINDS, DriftRow, PassRow, ReconcileSettings

LIST_LIMIT = 500
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class DriftView:
    affiliate: Affiliate
    counts: Mapping[str, int]
    rows: list[DriftRow]
    settings: ReconcileSettings
    state: PassRow | None
    repairable: frozenset[str]  # the kinds this affiliate's connector can put right


def _affiliate(conn: Connection, account_id: int, affiliate_id: int) -> Affiliate:
    found = affiliates_by_id(conn, [affiliate_id]).get(affiliate_id)
    if found is None or found.account_id != account_id:
        raise NotFound(say("msg.not_found.affiliate", id=affiliate_id))
    return found


def _kind(kind: str | None) -> str | None:
    if kind in (None, ""):
        return None
    if kind not in KINDS:
        raise InputError(say("msg.input.one_of", field="kind", choices=", ".join(KINDS)), field="kind")
    return kind


def drift_view(conn: Connection, *, account_id: int, affiliate_id: int, kind: str | None = None) -> DriftView:
    affiliate = _affiliate(conn, account_id, affiliate_id)
    try:
        repairable = frozenset(get_connector_class(affiliate.connector).repairs)
    except LookupError:
        repairable = frozenset()
    return DriftView(
        affiliate=affiliate,
        counts=store.drift_counts(conn, account_id=account_id, affiliate_id=affiliate_id),
        rows=store.list_drifts(
            conn, account_id=account_id, affiliate_id=affiliate_id, kind=_kind(kind), limit=LIST_LIMIT
        ),
        settings=store.get_settings(conn, account_id=account_id),
        state=store.passes_of(conn, [affiliate_id]).get(affiliate_id),
        repairable=repairable,
    )


def repair_drifts(
    conn: Connection,
    *,
    account_id: int,
    affiliate_id: int,
    actor: str,
    ids: Sequence[int] | None = None,
    kind: str | None = None,
) -> int:
    """Queue the repair of the chosen open drifts (`ids`, or every one of `kind`, or all): the integrations that put
    them right go pending with the trigger "reconciliation" and `actor`. Returns how many drifts were queued; kinds
    the connector cannot repair (a listing Ponte does not know) are left as they are."""
    affiliate = _affiliate(conn, account_id, affiliate_id)
    repairs = get_connector_class(affiliate.connector).repairs
    rows = store.list_drifts(
        conn, account_id=account_id, affiliate_id=affiliate_id, kind=_kind(kind), ids=ids, limit=None
    )
    flows: dict[str, set[str]] = {}
    queued: list[int] = []
    for row in rows:
        if row.sku and repairs.get(row.kind):
            for flow in repairs[row.kind]:
                flows.setdefault(flow, set()).add(row.sku)
            queued.append(row.id)
            if row.kind == "status":
                store.note_held_status(
                    conn, affiliate_id=affiliate_id, listing_id=row.listing_id, status=row.held_value
                )
    for flow, codes in sorted(flows.items()):
        mark_changed(
            conn, account_id=account_id, flow=flow, keys=[(affiliate_id, c) for c in sorted(codes)],
            trigger=Trigger.RECONCILIATION, actor=actor,
        )  # fmt: skip
    store.mark_repairing(conn, ids=queued, now=now())
    detail = {"affiliate": affiliate.code, "count": len(queued), "kind": kind, "ids": list(ids or [])[:100]}
    record(conn, account_id=account_id, actor=actor, action="drift.repair", detail=detail)
    return len(queued)


def save_settings(conn: Connection, *, account_id: int, actor: str, values: Mapping[str, Any]) -> ReconcileSettings:
    """Change the account's reconciliation settings from a form's or a request's values; InputError changes
    nothing."""
    current = store.get_settings(conn, account_id=account_id)
    numbers = {}
    for name, low, high in (
        ("full_every_hours", 1, 24 * 30),
        ("focused_every_minutes", 5, 24 * 60),
        ("low_stock", 0, 10_000),
    ):
        raw = values.get(name)
        if raw in (None, ""):
            numbers[name] = getattr(current, name)
            continue
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise InputError(say("msg.input.whole", field=name), field=name)
        if not low <= number <= high:
            raise InputError(say("msg.input.between", field=name, low=low, high=high), field=name)
        numbers[name] = number
    actions = dict(current.actions)
    for kind in KINDS:
        chosen = values.get(f"action.{kind}")
        if chosen in (None, ""):
            continue
        if chosen not in ("repair", "report"):
            said = say(
                "msg.drift.action",
                kind=say(f"drift.kind.{kind}"),
                repair=say("drift.action.repair"),
                report=say("drift.action.report"),
            )
            raise InputError(said, field=f"action.{kind}")
        actions[kind] = str(chosen)
    changed = ReconcileSettings(actions=actions, **numbers)
    store.save_settings(conn, account_id=account_id, settings=changed, now=now())
    record(
        conn, account_id=account_id, actor=actor, action="reconcile.settings", detail={**numbers, "actions": actions}
    )
    return changed


def drifts_of_sku(conn: Connection, *, account_id: int, sku: str) -> dict[int, list[DriftRow]]:
    """The SKU's open drifts per affiliate (the SKU page's drift row)."""
    found: dict[int, list[DriftRow]] = {}
    for row in store.list_drifts(conn, account_id=account_id, sku=sku, limit=100):
        found.setdefault(row.affiliate_id, []).append(row)
    return found


def export_csv(
    conn: Connection, *, account_id: int, affiliate_id: int, kind: str | None, labels: Mapping[str, str]
) -> bytes:
    """The affiliate's open drifts as CSV (`;`, UTF-8 with BOM for Excel); text a spreadsheet would run is
    neutralised (a SKU or a cause is the marketplace's or the store's text)."""
    _affiliate(conn, account_id, affiliate_id)
    rows = store.list_drifts(
        conn, account_id=account_id, affiliate_id=affiliate_id, kind=_kind(kind), limit=EXPORT_LIMIT
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [labels[k] for k in ("sku", "listing", "kind", "store", "sent", "held", "cause", "found", "status")]
    )
    for r in rows:
        writer.writerow(
            [neutralise(str(v or "")) for v in (
                r.sku, r.listing_id, labels.get(f"kind.{r.kind}", r.kind), _word(labels, "value", r.store_value),
                r.sent_value, _word(labels, "value", r.held_value), _word(labels, "cause", r.cause),
                r.found_at.isoformat(timespec="seconds"), labels.get(f"status.{r.status}", r.status),
            )]
        )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _word(labels: Mapping[str, str], group: str, word: str | None) -> str | None:
    return labels.get(f"{group}.{word}", word) if word else word
