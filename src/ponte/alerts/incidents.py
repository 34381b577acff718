"""Incidents: a finding becomes one incident, notified once, updated at most every 30 minutes with a digest of
what changed, and closed with a recovery message when its condition clears.

1,000 failures in a minute are one finding (one flow × affiliate over its window), so one incident and one
message per channel. A condition that clears and comes back within the throttle reopens the same incident
rather than sending a new alert: flapping does not flood anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import Connection

from ponte.alerts import texts
from ponte.alerts.channels import Message
from ponte.alerts.conditions import Finding
from ponte.alerts.rules import CREDENTIALS, ERROR_RATE, PENDING_AGE, STOCK_DRIFT
from ponte.store.affiliates import affiliate_codes
from ponte.store.alerts import Channel, NewMessage, account_channels, queue_messages
from ponte.store.incidents import (
    OPEN,
    RESOLVED,
    Incident,
    ListedIncident,
    SentMessage,
    account_incidents,
    change_incident,
    get_incident,
    incident_messages,
    insert_incident,
    open_incidents,
    recently_resolved,
    see_again,
)

THROTTLE = timedelta(minutes=30)


def _link(row: Any, affiliate: str) -> str:
    if row.kind == CREDENTIALS:
        return "/affiliates"
    if row.kind == STOCK_DRIFT:
        return f"/affiliates/{row.affiliate_id}/drift?kind=stock_higher"
    status = "pending" if row.kind == PENDING_AGE else "error"
    if row.kind in (ERROR_RATE, PENDING_AGE) and row.flow:
        return f"/connections/{row.flow}?affiliate={affiliate}&status={status}"
    return "/orders"


def compose(row: Any, event: str, *, locale: str, affiliate: str, now: datetime, old: dict | None) -> Message:
    """The subject and body of one message about an incident, in `locale`."""
    facts = dict(row.facts)
    title = texts.title(row.kind, facts, locale=locale, affiliate=affiliate, flow=row.flow)
    lines = [texts.body(row.kind, facts, locale=locale, affiliate=affiliate, flow=row.flow)]
    if event == "update" and old is not None and row.notified_at is not None:
        change = texts.digest(row.kind, old, facts, locale=locale, since=row.notified_at)
        if change:
            lines.append(change)
    if event == RESOLVED:
        spent = (now - row.opened_at).total_seconds() / 60
        lines = [texts.word("resolved.body", locale, at=texts.local_time(now, locale), duration=texts.duration(spent))]
    lines.append(texts.word("link", locale, path=_link(row, affiliate)))
    return Message(texts.word(event, locale, title=title), "\n".join(lines))


Recipients = tuple[list[Channel], dict[int, str]]  # an account's enabled channels, and its affiliates' codes by id


def _recipients(conn: Connection, account_id: int) -> Recipients:
    channels = account_channels(conn, account_id=account_id, enabled_only=True)
    return channels, affiliate_codes(conn, account_id=account_id)


def _queue(conn: Connection, row: Incident, event: str, recipients: Recipients, now: datetime) -> int:
    """One message per enabled channel about `row`; marks the incident notified. Returns how many."""
    channels, names = recipients
    affiliate = names.get(row.affiliate_id or 0, "—")
    old = row.notified_facts
    messages = []
    for channel in channels:
        text = compose(row, event, locale=channel.locale, affiliate=affiliate, now=now, old=old)
        messages.append(
            NewMessage(
                account_id=row.account_id,
                incident_id=row.id,
                channel_id=channel.id,
                event=event,
                subject=text.subject[:300],
                body=text.body,
                status="queued",
                tries=0,
                created_at=now,
            )
        )
    queue_messages(conn, messages)
    change_incident(conn, incident_id=row.id, values={"notified_at": now, "notified_facts": row.facts})
    return len(messages)


def _open_new(conn: Connection, account_id: int, f: Finding, now: datetime) -> Incident:
    values = {
        "account_id": account_id,
        "rule_id": f.rule.id,
        "key": f.key,
        "kind": f.rule.kind,
        "flow": f.flow,
        "affiliate_id": f.affiliate_id,
        "status": OPEN,
        "facts": f.facts,
        "opened_at": now,
        "last_seen_at": now,
    }
    return get_incident(conn, incident_id=insert_incident(conn, values))


def _touch(conn: Connection, row: Incident, facts: dict[str, Any], now: datetime, **extra: Any) -> Incident:
    values = {"facts": facts, "last_seen_at": now, **extra}
    change_incident(conn, incident_id=row.id, values=values)
    return get_incident(conn, incident_id=row.id)


def _due_for_update(row: Any, now: datetime) -> bool:
    if row.notified_at is not None and now - row.notified_at < THROTTLE:
        return False
    old = row.notified_facts or {}
    return texts.digest(row.kind, old, row.facts, locale="en", since=now) is not None


def _found_again(
    conn: Connection, still_open: dict[int, dict[str, Incident]], found: dict[int, list[Finding]], now: datetime
) -> dict[int, Incident]:
    """Move every open incident found again to its new facts, in one executemany; returns them as they now are,
    by id (as `_touch` would read them back)."""
    again = [
        (row, f) for account_id, fs in found.items() for f in fs if (row := still_open.get(account_id, {}).get(f.key))
    ]
    if not again:
        return {}
    see_again(conn, facts={row.id: f.facts for row, f in again}, now=now)
    return {row.id: replace(row, facts=f.facts, last_seen_at=now) for row, f in again}


def reconcile(conn: Connection, *, found: dict[int, list[Finding]], now: datetime) -> int:
    """Open, update and resolve every account's incidents to match `found` (findings by account; an account left
    out has none); queue their messages. Returns how many incident events (opened, updated, resolved) there were.

    A few statements whatever the number of accounts: the open incidents are read at once and those found again
    are touched in one executemany. An account's own statements (its channels, its incidents) are spent only
    where an incident opens, resolves or is due a message.
    """
    still_open = open_incidents(conn)
    touched = _found_again(conn, still_open, found, now)
    recipients = cache(partial(_recipients, conn))  # read for an account the first time it has a message
    events = 0
    for account_id in sorted(found.keys() | still_open.keys()):
        account_open = dict(still_open.get(account_id, {}))
        for f in found.get(account_id, []):
            row = account_open.pop(f.key, None)
            if row is None:
                events += _open(conn, account_id, f, now, recipients)
            elif _due_for_update(touched[row.id], now):
                _queue(conn, touched[row.id], "update", recipients(account_id), now)
                events += 1
        for row in account_open.values():
            change_incident(conn, incident_id=row.id, values={"status": RESOLVED, "resolved_at": now})
            _queue(conn, get_incident(conn, incident_id=row.id), RESOLVED, recipients(account_id), now)
            events += 1
    return events


def _open(conn: Connection, account_id: int, f: Finding, now: datetime, recipients: Callable[[int], Recipients]) -> int:
    """Open an incident for a finding that has none open: the one resolved within the throttle if there is one
    (flapping: notified again only once the throttle allows), else a new one. Returns the events (0 or 1)."""
    again = recently_resolved(conn, account_id=account_id, key=f.key, since=now - THROTTLE)
    if again is None:
        _queue(conn, _open_new(conn, account_id, f, now), "opened", recipients(account_id), now)
        return 1
    row = _touch(conn, again, f.facts, now, status=OPEN, resolved_at=None)
    if row.notified_at is None or now - row.notified_at >= THROTTLE:
        _queue(conn, row, "opened", recipients(account_id), now)
        return 1
    return 0


def list_incidents(
    conn: Connection, *, account_id: int, limit: int = 100, status: str | None = None
) -> list[ListedIncident]:
    """The account's incidents, newest first, with their affiliate code."""
    return account_incidents(conn, account_id=account_id, limit=min(limit, 500), status=status)


def list_messages(conn: Connection, *, account_id: int, incident_ids: list[int]) -> dict[int, list[SentMessage]]:
    """The messages about these incidents (oldest first), with their channel's name."""
    return incident_messages(conn, account_id=account_id, incident_ids=incident_ids)
