"""What is wrong right now: each rule turned into findings, one per subject (flow × affiliate, or affiliate).

A finding's `key` names its subject, so the same condition met again on the next evaluation finds the same
incident. Every query is bounded by a time range on an index, or by the few stuck rows it selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select

from ponte.alerts import rhythm
from ponte.alerts.rules import CREDENTIALS, ERROR_RATE, PENDING_AGE, QUIET_ORDERS, Rule
from ponte.domain import Flow, Status
from ponte.services.overview import attempt_counts
from ponte.store.tables import affiliates, attempts, integrations

AUTH_CATEGORIES = ("auth_invalid",)
CREDENTIALS_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True)
class Finding:
    rule: Rule
    key: str
    flow: str | None
    affiliate_id: int | None
    facts: dict[str, Any]


def _matches(rule: Rule, flow: str | None, affiliate_id: int | None) -> bool:
    return (rule.flow is None or rule.flow == flow) and (rule.affiliate_id is None or rule.affiliate_id == affiliate_id)


def error_rate(conn: Connection, rule: Rule, account_id: int, now: datetime) -> list[Finding]:
    """Flow × affiliate pairs whose attempts in the window failed more than the threshold allows."""
    window = int(rule.window_minutes or 30)
    totals: dict[tuple[str, int], list[int]] = {}
    for r in attempt_counts(conn, account_id, now - timedelta(minutes=window), hourly=False, until=now):
        counts = totals.setdefault((r.flow, int(r.affiliate_id)), [0, 0])
        counts[0] += r.n
        counts[1] += r.n if r.status == Status.ERROR.value else 0
    found = []
    for (flow, affiliate_id), (total, errors) in sorted(totals.items()):
        if not _matches(rule, flow, affiliate_id) or total < (rule.min_count or 1):
            continue
        rate = 100.0 * errors / total
        if rate > float(rule.threshold or 20):
            facts = {"attempts": total, "errors": errors, "rate": round(rate, 1), "window": window}
            facts["threshold"] = float(rule.threshold or 20)
            found.append(Finding(rule, f"{rule.id}:{flow}:{affiliate_id}", flow, affiliate_id, facts))
    return found


def pending_age(conn: Connection, rule: Rule, account_id: int, now: datetime) -> list[Finding]:
    """Flow × affiliate pairs with work due for longer than the rule allows (the queue index: status, due_at)."""
    limit = int(rule.window_minutes or 60)
    i = integrations.c
    query = (
        select(i.flow, i.affiliate_id, func.count(), func.min(i.due_at))
        .where(i.account_id == account_id, i.status == Status.PENDING.value, i.due_at < now - timedelta(minutes=limit))
        .group_by(i.flow, i.affiliate_id)
    )
    found = []
    for flow, affiliate_id, n, oldest in conn.execute(query):
        if _matches(rule, flow, int(affiliate_id)):
            facts = {"count": int(n), "oldest_minutes": int((now - oldest).total_seconds() // 60), "limit": limit}
            found.append(Finding(rule, f"{rule.id}:{flow}:{affiliate_id}", flow, int(affiliate_id), facts))
    return found


def credentials(conn: Connection, rule: Rule, account_id: int, now: datetime) -> list[Finding]:
    """Affiliates whose newest answer (in the last day) was a rejection of our credentials: at once, no threshold."""
    i, a = integrations.c, attempts.c
    auth = case((a.category.in_(AUTH_CATEGORIES), a.started_at))
    good = case((a.status.in_((Status.SUCCESS.value, Status.WARNING.value)), a.started_at))
    query = (
        select(i.affiliate_id, func.max(auth), func.max(good), func.count(auth))
        .join(integrations, i.id == a.integration_id)
        .where(a.account_id == account_id, a.started_at >= now - CREDENTIALS_LOOKBACK, a.started_at <= now)
        .group_by(i.affiliate_id)
    )
    found = []
    for affiliate_id, last_auth, last_good, n in conn.execute(query):
        if last_auth is None or (last_good is not None and _aware(last_good) >= _aware(last_auth)):
            continue
        if not _matches(rule, None, int(affiliate_id)):
            continue
        message = conn.execute(
            select(a.message)
            .join(integrations, i.id == a.integration_id)
            .where(a.account_id == account_id, i.affiliate_id == affiliate_id, a.category.in_(AUTH_CATEGORIES))
            .where(a.started_at >= now - CREDENTIALS_LOOKBACK)
            .order_by(a.started_at.desc())
            .limit(1)
        ).scalar()
        facts = {"errors": int(n), "message": (message or "")[:300], "since": _aware(last_auth).isoformat()}
        found.append(Finding(rule, f"{rule.id}:{affiliate_id}", None, int(affiliate_id), facts))
    return found


def _aware(value: Any) -> datetime:
    # Aggregates (max over a CASE) lose the column type on SQLite and come back as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def quiet_orders(conn: Connection, rule: Rule, account_id: int, now: datetime) -> list[Finding]:
    """Marketplaces from which no order came for much longer than their usual gap at this hour of the week."""
    factor, floor = float(rule.threshold or 3), float(rule.window_minutes or 30)
    query = select(affiliates.c.id).where(
        affiliates.c.account_id == account_id,
        affiliates.c.kind == "marketplace",
        affiliates.c.enabled.is_(True),
    )
    found = []
    for (affiliate_id,) in conn.execute(query):
        if not _matches(rule, Flow.ORDER.value, int(affiliate_id)):
            continue
        learned = rhythm.rhythm_for(conn, account_id=account_id, affiliate_id=int(affiliate_id), now=now)
        last = learned.last_order_at
        usual = learned.usual_gap(last) if last else None
        if last is None or usual is None:
            continue  # no orders yet, or too few to know the rhythm: silence means nothing
        gap = (now - last).total_seconds() / 60
        if gap > max(floor, factor * usual):
            facts = {"gap_minutes": int(gap), "usual_minutes": round(usual), "last_order_at": last.isoformat()}
            found.append(Finding(rule, f"{rule.id}:{affiliate_id}", Flow.ORDER.value, int(affiliate_id), facts))
    return found


EVALUATORS = {ERROR_RATE: error_rate, PENDING_AGE: pending_age, CREDENTIALS: credentials, QUIET_ORDERS: quiet_orders}


def findings(conn: Connection, rules: list[Rule], account_id: int, now: datetime) -> list[Finding]:
    """Every finding of the account's enabled rules."""
    return [f for rule in rules if rule.enabled for f in EVALUATORS[rule.kind](conn, rule, account_id, now)]
