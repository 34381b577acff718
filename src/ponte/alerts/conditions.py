"""What is wrong right now: each rule turned into findings, one per subject (flow × affiliate, or affiliate).

A finding's `key` names its subject, so the same condition met again on the next evaluation finds the same
incident. Each kind of rule is read for every account at once, a statement or two per kind however many stores
(ponte.store.alert_findings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ponte.alerts import rhythm
from ponte.alerts.rules import CREDENTIALS, ERROR_RATE, PENDING_AGE, QUIET_ORDERS, STOCK_DRIFT, Rule
from ponte.domain import Flow, Status
from ponte.domain.messages import Message, from_columns
from ponte.store.alert_findings import (
    RuleWindow,
    attempt_counts,
    credential_answers,
    last_orders,
    newest_refusals,
    overdue_pending,
)
from ponte.store.reconcile import oversell_counts

AUTH_CATEGORIES = ("auth_invalid",)
CREDENTIALS_LOOKBACK = timedelta(hours=24)
CREDENTIALS_MINUTES = int(CREDENTIALS_LOOKBACK.total_seconds() // 60)


@dataclass(frozen=True)
class Finding:
    rule: Rule
    key: str
    flow: str | None
    affiliate_id: int | None
    facts: dict[str, Any]


def _matches(rule: Rule, flow: str | None, affiliate_id: int | None) -> bool:
    return (rule.flow is None or rule.flow == flow) and (rule.affiliate_id is None or rule.affiliate_id == affiliate_id)


def _error_window(rule: Rule) -> int:
    return int(rule.window_minutes or 30)


def _pending_limit(rule: Rule) -> int:
    return int(rule.window_minutes or 60)


def _windows(rules: list[Rule], minutes: Callable[[Rule], int]) -> list[RuleWindow]:
    return [(rule.id, rule.account_id, minutes(rule)) for rule in rules]


def error_rate(conn: Connection, rules: list[Rule], now: datetime) -> dict[int, list[Finding]]:
    """Flow × affiliate pairs whose attempts in the rule's window failed more than its threshold allows."""
    totals: dict[int, dict[tuple[str, int], list[int]]] = defaultdict(dict)
    for rule_id, flow, affiliate_id, status, n in attempt_counts(conn, windows=_windows(rules, _error_window), now=now):
        counts = totals[rule_id].setdefault((flow, int(affiliate_id)), [0, 0])
        counts[0] += n
        counts[1] += n if status == Status.ERROR.value else 0
    return {rule.id: _error_rate(rule, totals[rule.id]) for rule in rules}


def _error_rate(rule: Rule, totals: dict[tuple[str, int], list[int]]) -> list[Finding]:
    window = _error_window(rule)
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


def pending_age(conn: Connection, rules: list[Rule], now: datetime) -> dict[int, list[Finding]]:
    """Flow × affiliate pairs with work due for longer than the rule allows (the queue index: status, due_at)."""
    overdue = overdue_pending(conn, windows=_windows(rules, _pending_limit), now=now)
    by_id = {rule.id: rule for rule in rules}
    found: dict[int, list[Finding]] = defaultdict(list)
    for rule_id, flow, affiliate_id, n, oldest in sorted(overdue, key=lambda r: (r[0], r[1], r[2])):
        rule = by_id[rule_id]
        if _matches(rule, flow, int(affiliate_id)):
            limit = _pending_limit(rule)
            facts = {"count": int(n), "oldest_minutes": int((now - oldest).total_seconds() // 60), "limit": limit}
            found[rule.id].append(Finding(rule, f"{rule.id}:{flow}:{affiliate_id}", flow, int(affiliate_id), facts))
    return found


def credentials(conn: Connection, rules: list[Rule], now: datetime) -> dict[int, list[Finding]]:
    """Affiliates whose newest answer (in the last day) was a rejection of our credentials: at once, no threshold."""
    answers = credential_answers(
        conn,
        rules=[(rule.id, rule.account_id) for rule in rules],
        minutes=CREDENTIALS_MINUTES,
        categories=AUTH_CATEGORIES,
        now=now,
    )
    by_id = {rule.id: rule for rule in rules}
    refused = []
    for rule_id, affiliate_id, last_auth, last_good, n in sorted(answers, key=lambda r: (r[0], r[1])):
        if last_auth is None or (last_good is not None and _aware(last_good) >= _aware(last_auth)):
            continue
        if _matches(by_id[rule_id], None, int(affiliate_id)):
            refused.append((by_id[rule_id], int(affiliate_id), _aware(last_auth), int(n)))
    messages = _refusal_messages(conn, {(rule.account_id, affiliate_id) for rule, affiliate_id, _, _ in refused}, now)
    found: dict[int, list[Finding]] = defaultdict(list)
    for rule, affiliate_id, since, n in refused:
        message, said = messages.get((rule.account_id, affiliate_id)) or ("", None)
        facts: dict[str, Any] = {"errors": n, "message": message[:300], "since": since.isoformat()}
        if said is not None:  # Ponte's own words: each channel reads them in its language
            facts["said"] = said.as_json()
        found[rule.id].append(Finding(rule, f"{rule.id}:{affiliate_id}", None, affiliate_id, facts))
    return found


def _refusal_messages(
    conn: Connection, refused: set[tuple[int, int]], now: datetime
) -> dict[tuple[int, int], tuple[str, Message | None]]:
    """The message of the newest rejection of each (account, affiliate) in the last day."""
    newest = newest_refusals(conn, refused=refused, categories=AUTH_CATEGORIES, since=now - CREDENTIALS_LOOKBACK)
    return {pair: (message or "", from_columns(key, params)) for pair, (message, key, params) in newest.items()}


def _aware(value: Any) -> datetime:
    # Aggregates (max over a CASE) lose the column type on SQLite and come back as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def quiet_orders(conn: Connection, rules: list[Rule], now: datetime) -> dict[int, list[Finding]]:
    """Marketplaces from which no order came for much longer than their usual gap at this hour of the week."""
    marketplaces = last_orders(conn, rules=[(rule.id, rule.account_id) for rule in rules], now=now)
    by_id = {rule.id: rule for rule in rules}
    watched = [
        (by_id[rule_id], int(account_id), int(affiliate_id), last)
        for rule_id, account_id, affiliate_id, last in sorted(marketplaces, key=lambda r: (r[0], r[2]))
        if _matches(by_id[rule_id], Flow.ORDER.value, int(affiliate_id))
    ]
    learned = rhythm.rhythms(conn, last_orders={(w[1], w[2]): w[3] for w in watched}, now=now)
    found: dict[int, list[Finding]] = defaultdict(list)
    for rule, account_id, affiliate_id, _ in watched:
        finding = _quiet(rule, affiliate_id, learned[(account_id, affiliate_id)], now)
        if finding is not None:
            found[rule.id].append(finding)
    return found


def _quiet(rule: Rule, affiliate_id: int, learned: rhythm.Rhythm, now: datetime) -> Finding | None:
    factor, floor = float(rule.threshold or 3), float(rule.window_minutes or 30)
    last = learned.last_order_at
    usual = learned.usual_gap(last) if last else None
    if last is None or usual is None:
        return None  # no orders yet, or too few to know the rhythm: silence means nothing
    gap = (now - last).total_seconds() / 60
    if gap <= max(floor, factor * usual):
        return None
    facts = {"gap_minutes": int(gap), "usual_minutes": round(usual), "last_order_at": last.isoformat()}
    return Finding(rule, f"{rule.id}:{affiliate_id}", Flow.ORDER.value, affiliate_id, facts)


def stock_drift(conn: Connection, rules: list[Rule], now: datetime) -> dict[int, list[Finding]]:
    """Affiliates where reconciliation found listings offering more stock than the store has (they can oversell),
    until the last of them is repaired: one incident per affiliate, whatever the number of SKUs."""
    counts = oversell_counts(conn, account_ids=sorted({rule.account_id for rule in rules}))
    found: dict[int, list[Finding]] = defaultdict(list)
    for rule in rules:
        for (account_id, affiliate_id), n in sorted(counts.items()):
            if account_id == rule.account_id and _matches(rule, Flow.INVENTORY.value, affiliate_id):
                facts = {"count": n}
                found[rule.id].append(Finding(rule, f"{rule.id}:{affiliate_id}", None, affiliate_id, facts))
    return found


Evaluator = Callable[[Connection, list[Rule], datetime], dict[int, list[Finding]]]
EVALUATORS: dict[str, Evaluator] = {
    ERROR_RATE: error_rate,
    PENDING_AGE: pending_age,
    CREDENTIALS: credentials,
    QUIET_ORDERS: quiet_orders,
    STOCK_DRIFT: stock_drift,
}


def findings(conn: Connection, rules: list[Rule], now: datetime) -> dict[int, list[Finding]]:
    """Every finding of the enabled `rules`, of one account or of many, by account: each account with an enabled
    rule gets an entry, its findings in the order of its rules. A statement or two per kind of rule however many
    rules and accounts there are (and one per 50 marketplaces whose order rhythm is learnt again, hourly)."""
    enabled = [rule for rule in rules if rule.enabled]
    by_rule: dict[int, list[Finding]] = {}
    for kind, evaluate in EVALUATORS.items():
        of_kind = [rule for rule in enabled if rule.kind == kind]
        if of_kind:
            by_rule.update(evaluate(conn, of_kind, now))
    found: dict[int, list[Finding]] = {}
    for rule in enabled:
        found.setdefault(rule.account_id, []).extend(by_rule.get(rule.id, []))
    return found
