"""Alert rules: the four kinds, the defaults every account starts with, and their create/read/update/delete.

Services take a Connection the edge owns (a request, the worker's step) and never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ponte.clock import now
from ponte.domain import Flow
from ponte.domain.messages import say
from ponte.services.errors import InputError, NotFound
from ponte.store.affiliates import find_affiliate
from ponte.store.alerts import (
    Rule,
    account_alert_rules,
    change_rule,
    delete_rule_row,
    every_enabled_rule,
    find_rule,
    has_rules,
    insert_rule,
    insert_rules,
)

ERROR_RATE = "error_rate"
QUIET_ORDERS = "quiet_orders"
PENDING_AGE = "pending_age"
CREDENTIALS = "credentials"
STOCK_DRIFT = "stock_drift"  # reconciliation found a marketplace offering more stock than the store has
KINDS = (ERROR_RATE, QUIET_ORDERS, PENDING_AGE, CREDENTIALS, STOCK_DRIFT)
FLOWS = tuple(f.value for f in Flow)


# What every new account gets (issue 8): error rate > 20 % over 30 min per flow × affiliate with at least
# 20 attempts; pending work older than 60 min; rejected credentials at once; orders gone quiet for three
# times their usual gap at this hour of the week (never less than 30 min).
DEFAULTS: tuple[dict[str, Any], ...] = (
    {"kind": ERROR_RATE, "threshold": 20, "window_minutes": 30, "min_count": 20},
    {"kind": PENDING_AGE, "window_minutes": 60},
    {"kind": CREDENTIALS},
    {"kind": QUIET_ORDERS, "threshold": 3, "window_minutes": 30},
    {"kind": STOCK_DRIFT},
)

# The columns each kind uses, with their bounds; the others are stored as None.
FIELDS: dict[str, dict[str, tuple[float, float]]] = {
    ERROR_RATE: {"threshold": (1, 100), "window_minutes": (5, 24 * 60), "min_count": (1, 1_000_000)},
    QUIET_ORDERS: {"threshold": (1.5, 50), "window_minutes": (5, 7 * 24 * 60)},
    PENDING_AGE: {"window_minutes": (1, 7 * 24 * 60)},
    CREDENTIALS: {},
    STOCK_DRIFT: {},
}


def ensure_defaults(conn: Connection, *, account_id: int) -> bool:
    """Give an account that never had rules the default ones; True when it did."""
    if has_rules(conn, account_id=account_id):
        return False
    when = now()
    rows = [
        {"account_id": account_id, "builtin": True, "enabled": True, "created_at": when, "updated_at": when, **d}
        for d in DEFAULTS
    ]
    insert_rules(conn, [_complete(r) for r in rows])
    return True


def _complete(values: dict[str, Any]) -> dict[str, Any]:
    base = {"flow": None, "affiliate_id": None, "threshold": None, "window_minutes": None, "min_count": None}
    return {**base, **values}


def list_rules(conn: Connection, *, account_id: int) -> list[Rule]:
    ensure_defaults(conn, account_id=account_id)
    return account_alert_rules(conn, account_id=account_id)


def enabled_rules(conn: Connection, *, account_id: int) -> list[Rule]:
    return [r for r in list_rules(conn, account_id=account_id) if r.enabled]


def all_enabled_rules(conn: Connection) -> list[Rule]:
    """Every account's enabled rules, by account and then as listed (one statement; defaults are not made here)."""
    return every_enabled_rule(conn)


def get_rule(conn: Connection, *, account_id: int, rule_id: int) -> Rule:
    rule = find_rule(conn, account_id=account_id, rule_id=rule_id)
    if rule is None:
        raise NotFound(say("msg.not_found.alert_rule", id=rule_id))
    return rule


def _check(conn: Connection, account_id: int, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Values of a rule of `kind`, checked: bounds per kind, a known flow, an affiliate of the account."""
    if kind not in KINDS:
        raise InputError(say("msg.input.one_of", field="kind", choices=", ".join(KINDS)), field="kind")
    checked: dict[str, Any] = {}
    for name, (low, high) in FIELDS[kind].items():
        value = values.get(name)
        if value is None:
            continue
        if not low <= float(value) <= high:
            said = say("msg.alert_rule.between", field=name, low=low, high=high, kind=say(f"alerts.kind.{kind}"))
            raise InputError(said, field=name)
        checked[name] = value
    flow = values.get("flow")
    if flow is not None and flow not in FLOWS:
        raise InputError(say("msg.input.one_of", field="flow", choices=", ".join(FLOWS)), field="flow")
    if kind == QUIET_ORDERS and flow not in (None, Flow.ORDER.value):
        raise InputError(say("msg.alert_rule.quiet_orders_flow"), field="flow")
    affiliate_id = values.get("affiliate_id")
    if affiliate_id is not None and find_affiliate(conn, account_id=account_id, affiliate_id=affiliate_id) is None:
        raise InputError(say("msg.input.affiliate_not_found", affiliate=affiliate_id), field="affiliate_id")
    return {**checked, "flow": flow, "affiliate_id": affiliate_id}


def create_rule(conn: Connection, *, account_id: int, kind: str, **values: Any) -> Rule:
    """A new (not built-in) rule; missing numbers take the kind's default."""
    ensure_defaults(conn, account_id=account_id)
    default = next(d for d in DEFAULTS if d["kind"] == kind) if kind in KINDS else {}
    given = {k: v for k, v in values.items() if v is not None}
    checked = _check(conn, account_id, kind, {**default, **given})
    when = now()
    row = _complete({**checked, "account_id": account_id, "kind": kind, "created_at": when, "updated_at": when})
    row["enabled"] = bool(values.get("enabled", True))
    rule_id = insert_rule(conn, row)
    return get_rule(conn, account_id=account_id, rule_id=rule_id)


def update_rule(conn: Connection, *, account_id: int, rule_id: int, changes: dict[str, Any]) -> Rule:
    """Change a rule: only the given fields change (kind never does)."""
    rule = get_rule(conn, account_id=account_id, rule_id=rule_id)
    current = {k: getattr(rule, k) for k in ("flow", "affiliate_id", "threshold", "window_minutes", "min_count")}
    merged = {**current, **{k: v for k, v in changes.items() if k != "enabled"}}
    checked = _check(conn, account_id, rule.kind, merged)
    values: dict[str, Any] = {**checked, "updated_at": now()}
    if "enabled" in changes and changes["enabled"] is not None:
        values["enabled"] = bool(changes["enabled"])
    change_rule(conn, rule_id=rule.id, values=values)
    return get_rule(conn, account_id=account_id, rule_id=rule_id)


def delete_rule(conn: Connection, *, account_id: int, rule_id: int) -> None:
    """Delete a rule the account added; a default rule can only be switched off (InputError)."""
    rule = get_rule(conn, account_id=account_id, rule_id=rule_id)
    if rule.builtin:
        raise InputError(say("msg.alert_rule.default_kept"), field="rule_id")
    delete_rule_row(conn, rule_id=rule.id)
