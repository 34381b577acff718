"""What the alert rules read: attempts, pending work, credential refusals and order times, for every account's
rules at once (ponte.alerts.conditions turns them into findings, ponte.alerts.rhythm into order rhythms).

The rules become rows of the statement, each joined to its own account's data over its own window, so a thousand
stores take the same statement or two per kind as one store. Every query is bounded by a time range on an index,
or by the few stuck rows it selects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CTE, Connection, and_, bindparam, case, func, literal, or_, select

from ponte.domain import Status
from ponte.store.db import literal_rows
from ponte.store.tables import When, affiliates, attempts, integrations, orders

RuleWindow = tuple[int, int, int]  # (rule id, account id, minutes): a rule and how far back it looks


def _rule_rows(windows: Sequence[RuleWindow], now: datetime) -> tuple[CTE, Any]:
    """The rules as a table of the statement, (rule_id, account_id, minutes), to join each to its account's rows;
    and each row's `now - minutes`, a CASE over the few distinct numbers of minutes (bound as times)."""
    rows = literal_rows("rule_rows", ("rule_id", "account_id", "minutes"), windows)
    starts = {m: literal(now - timedelta(minutes=m), When) for m in sorted({m for _, _, m in windows})}
    return rows, case(starts, value=rows.c.minutes)


def _recent_attempts(windows: Sequence[RuleWindow], now: datetime) -> Any:
    """Each of the rules' accounts' attempts over the account's widest window: `account_id IN (...) AND
    started_at >= ...` for each distinct widest window, the ids written into the statement.

    Beside the join to the rule rows, this gives PostgreSQL an index condition: it reads each account's range of
    the (account_id, started_at) index, where with the join alone it read the whole month of attempts; and one
    store's day-long window does not make every store's day read."""
    widest: dict[int, int] = defaultdict(int)
    for _, account_id, minutes in windows:
        widest[account_id] = max(widest[account_id], minutes)
    a = attempts.c
    ranges = []
    for window in sorted(set(widest.values())):
        ids = sorted(account_id for account_id, m in widest.items() if m == window)
        accounts = a.account_id.in_(bindparam(f"accounts_{window}", ids, expanding=True, literal_execute=True))
        ranges.append(and_(accounts, a.started_at >= now - timedelta(minutes=window)))
    return and_(or_(*ranges), a.started_at <= now)


def attempt_counts(
    conn: Connection, *, windows: Sequence[RuleWindow], now: datetime
) -> list[tuple[int, str, int, str, int]]:
    """(rule id, flow, affiliate id, status, attempts) of each rule's account over the rule's window."""
    rows, since = _rule_rows(windows, now)
    i, a = integrations.c, attempts.c
    query = (
        select(rows.c.rule_id, i.flow, i.affiliate_id, a.status, func.count())
        .select_from(rows)
        .join(attempts, and_(a.account_id == rows.c.account_id, a.started_at >= since))
        .join(integrations, i.id == a.integration_id)
        .where(_recent_attempts(windows, now))
        .group_by(rows.c.rule_id, i.flow, i.affiliate_id, a.status)
    )
    return [(rule_id, flow, affiliate_id, status, n) for rule_id, flow, affiliate_id, status, n in conn.execute(query)]


def overdue_pending(
    conn: Connection, *, windows: Sequence[RuleWindow], now: datetime
) -> list[tuple[int, str, int, int, datetime]]:
    """(rule id, flow, affiliate id, count, oldest due time) of each rule's account's work due for longer than the
    rule's minutes (the queue index: status, due_at)."""
    rows, limit_at = _rule_rows(windows, now)
    i = integrations.c
    query = (
        select(rows.c.rule_id, i.flow, i.affiliate_id, func.count(), func.min(i.due_at))
        .select_from(rows)
        .join(integrations, and_(i.account_id == rows.c.account_id, i.due_at < limit_at))
        # The shortest limit as a constant too: one range of the queue index holds every row that can match.
        .where(i.status == Status.PENDING.value, i.due_at < now - timedelta(minutes=min(m for _, _, m in windows)))
        .group_by(rows.c.rule_id, i.flow, i.affiliate_id)
    )
    return [(rule_id, flow, affiliate_id, n, oldest) for rule_id, flow, affiliate_id, n, oldest in conn.execute(query)]


def credential_answers(
    conn: Connection,
    *,
    rules: Sequence[tuple[int, int]],
    minutes: int,
    categories: Sequence[str],
    now: datetime,
) -> list[tuple[int, int, Any, Any, int]]:
    """(rule id, affiliate id, last refusal of `categories`, last good answer, refusals) of each (rule id, account
    id)'s affiliates over the last `minutes`. The times are as the database gives aggregates back (SQLite: text)."""
    rows, _ = _rule_rows([(rule_id, account_id, 0) for rule_id, account_id in rules], now)
    i, a = integrations.c, attempts.c
    auth = case((a.category.in_(categories), a.started_at))
    good = case((a.status.in_((Status.SUCCESS.value, Status.WARNING.value)), a.started_at))
    query = (
        select(rows.c.rule_id, i.affiliate_id, func.max(auth), func.max(good), func.count(auth))
        .select_from(rows)
        .join(attempts, a.account_id == rows.c.account_id)
        .join(integrations, i.id == a.integration_id)
        .where(_recent_attempts([(rule_id, account_id, minutes) for rule_id, account_id in rules], now))
        .group_by(rows.c.rule_id, i.affiliate_id)
    )
    return [
        (rule_id, affiliate_id, last, last_good, n) for rule_id, affiliate_id, last, last_good, n in conn.execute(query)
    ]


def newest_refusals(
    conn: Connection, *, refused: set[tuple[int, int]], categories: Sequence[str], since: datetime
) -> dict[tuple[int, int], tuple[str | None, str | None, str | None]]:
    """(message, message key, message params) of the newest refusal of `categories` since `since` of each
    (account, affiliate): one statement, each read newest first on the (account_id, started_at) index until the
    first refusal."""
    if not refused:
        return {}
    wanted = literal_rows("refused", ("account_id", "affiliate_id"), sorted(refused))
    i, a = integrations.c, attempts.c

    def newest(column: Any) -> Any:
        return (
            select(column)
            .join(integrations, i.id == a.integration_id)
            .where(a.account_id == wanted.c.account_id, i.affiliate_id == wanted.c.affiliate_id)
            .where(a.category.in_(categories), a.started_at >= since)
            .order_by(a.started_at.desc())
            .limit(1)
            .scalar_subquery()
        )

    query = select(
        wanted.c.account_id, wanted.c.affiliate_id, newest(a.message), newest(a.message_key), newest(a.message_params)
    )
    return {
        (int(account_id), int(affiliate_id)): (message, key, params)
        for account_id, affiliate_id, message, key, params in conn.execute(query)
    }


def last_orders(
    conn: Connection, *, rules: Sequence[tuple[int, int]], now: datetime
) -> list[tuple[int, int, int, datetime | None]]:
    """(rule id, account id, affiliate id, newest order up to `now`) of each (rule id, account id)'s enabled
    marketplaces."""
    rows, _ = _rule_rows([(rule_id, account_id, 0) for rule_id, account_id in rules], now)
    af, o = affiliates.c, orders.c
    # The newest order of each marketplace: one probe of the (account, affiliate, time) index.
    last_order = (
        select(func.max(o.received_at))
        .where(o.account_id == af.account_id, o.affiliate_id == af.id, o.received_at <= now)
        .scalar_subquery()
    )
    query = (
        select(rows.c.rule_id, af.account_id, af.id, last_order)
        .select_from(rows)
        .join(affiliates, af.account_id == rows.c.account_id)
        .where(af.kind == "marketplace", af.enabled.is_(True))
    )
    return [
        (rule_id, account_id, affiliate_id, last) for rule_id, account_id, affiliate_id, last in conn.execute(query)
    ]


def order_times(
    conn: Connection, *, affiliates: list[tuple[int, int]], since: datetime, until: datetime, newest: int
) -> dict[tuple[int, int], list[datetime]]:
    """Times of each (account, affiliate)'s orders between `since` and `until`, oldest first, at most its `newest`
    ones (index on account, affiliate, time)."""
    o = orders.c
    wanted = literal_rows("learning", ("account_id", "affiliate_id"), affiliates)
    newest_first = func.row_number().over(partition_by=(o.account_id, o.affiliate_id), order_by=o.received_at.desc())
    recent = (
        select(o.account_id, o.affiliate_id, o.received_at, newest_first.label("newest"))
        .join(wanted, and_(o.account_id == wanted.c.account_id, o.affiliate_id == wanted.c.affiliate_id))
        .where(o.received_at >= since, o.received_at <= until)
        .subquery()
    )
    query = (
        select(recent.c.account_id, recent.c.affiliate_id, recent.c.received_at)
        .where(recent.c.newest <= newest)
        .order_by(recent.c.account_id, recent.c.affiliate_id, recent.c.received_at)
    )
    times: dict[tuple[int, int], list[datetime]] = {(int(acc), int(aff)): [] for acc, aff in affiliates}
    for account_id, affiliate_id, received_at in conn.execute(query):
        times[(int(account_id), int(affiliate_id))].append(received_at)
    return times
