"""Incidents: a finding becomes one incident, notified once, updated at most every 30 minutes with a digest of
what changed, and closed with a recovery message when its condition clears.

1,000 failures in a minute are one finding (one flow × affiliate over its window), so one incident and one
message per channel. A condition that clears and comes back within the throttle reopens the same incident
rather than sending a new alert: flapping does not flood anyone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from ponte.alerts import texts
from ponte.alerts.channels import Message
from ponte.alerts.conditions import Finding
from ponte.alerts.rules import CREDENTIALS, ERROR_RATE, PENDING_AGE
from ponte.store.tables import affiliates, alert_channels, alert_incidents, alert_messages

THROTTLE = timedelta(minutes=30)
OPEN, RESOLVED = "open", "resolved"


def _link(row: Any, affiliate: str) -> str:
    if row.kind == CREDENTIALS:
        return "/affiliates"
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


def _queue(conn: Connection, row: Any, event: str, channels: list[Row], now: datetime, names: dict[int, str]) -> int:
    """One message per enabled channel about `row`; marks the incident notified. Returns how many."""
    affiliate = names.get(row.affiliate_id or 0, "—")
    old = row.notified_facts
    messages = []
    for channel in channels:
        text = compose(row, event, locale=channel.locale, affiliate=affiliate, now=now, old=old)
        messages.append(
            {
                "account_id": row.account_id,
                "incident_id": row.id,
                "channel_id": channel.id,
                "event": event,
                "subject": text.subject[:300],
                "body": text.body,
                "status": "queued",
                "tries": 0,
                "created_at": now,
            }
        )
    if messages:
        conn.execute(insert(alert_messages), messages)
    conn.execute(
        update(alert_incidents).where(alert_incidents.c.id == row.id).values(notified_at=now, notified_facts=row.facts)
    )
    return len(messages)


def _get(conn: Connection, incident_id: int) -> Row:
    return conn.execute(select(alert_incidents).where(alert_incidents.c.id == incident_id)).one()


def _open_new(conn: Connection, account_id: int, f: Finding, now: datetime) -> Row:
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
    new_id = conn.execute(insert(alert_incidents).values(**values).returning(alert_incidents.c.id)).scalar_one()
    return _get(conn, int(new_id))


def _recently_resolved(conn: Connection, account_id: int, key: str, now: datetime) -> Row | None:
    i = alert_incidents.c
    query = (
        select(alert_incidents)
        .where(i.account_id == account_id, i.status == RESOLVED, i.key == key, i.resolved_at >= now - THROTTLE)
        .order_by(i.id.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def _touch(conn: Connection, row: Row, facts: dict[str, Any], now: datetime, **extra: Any) -> Row:
    values = {"facts": facts, "last_seen_at": now, **extra}
    conn.execute(update(alert_incidents).where(alert_incidents.c.id == row.id).values(**values))
    return _get(conn, row.id)


def _due_for_update(row: Row, now: datetime) -> bool:
    if row.notified_at is not None and now - row.notified_at < THROTTLE:
        return False
    old = row.notified_facts or {}
    return texts.digest(row.kind, old, row.facts, locale="en", since=now) is not None


def reconcile(conn: Connection, *, account_id: int, found: list[Finding], now: datetime) -> int:
    """Open, update and resolve the account's incidents to match `found`; queue their messages.

    Returns how many incident events (opened, updated, resolved) there were.
    """
    channels = list(
        conn.execute(
            select(alert_channels)
            .where(alert_channels.c.account_id == account_id, alert_channels.c.enabled.is_(True))
            .order_by(alert_channels.c.id)
        )
    )
    names = {
        int(r.id): r.code
        for r in conn.execute(select(affiliates.c.id, affiliates.c.code).where(affiliates.c.account_id == account_id))
    }
    i = alert_incidents.c
    still_open = {
        r.key: r for r in conn.execute(select(alert_incidents).where(i.account_id == account_id, i.status == OPEN))
    }
    events = 0
    for f in found:
        row = still_open.pop(f.key, None)
        if row is not None:
            row = _touch(conn, row, f.facts, now)
            if _due_for_update(row, now):
                _queue(conn, row, "update", channels, now, names)
                events += 1
            continue
        again = _recently_resolved(conn, account_id, f.key, now)
        if again is not None:  # flapping: the same incident again, notified only once the throttle allows
            row = _touch(conn, again, f.facts, now, status=OPEN, resolved_at=None)
            if row.notified_at is None or now - row.notified_at >= THROTTLE:
                _queue(conn, row, "opened", channels, now, names)
                events += 1
            continue
        _queue(conn, _open_new(conn, account_id, f, now), "opened", channels, now, names)
        events += 1
    for row in still_open.values():
        conn.execute(update(alert_incidents).where(i.id == row.id).values(status=RESOLVED, resolved_at=now))
        _queue(conn, _get(conn, row.id), RESOLVED, channels, now, names)
        events += 1
    return events


def list_incidents(conn: Connection, *, account_id: int, limit: int = 100, status: str | None = None) -> list[Row]:
    """The account's incidents, newest first, with their affiliate code."""
    i = alert_incidents.c
    query = (
        select(alert_incidents, affiliates.c.code.label("affiliate_code"))
        .outerjoin(affiliates, affiliates.c.id == i.affiliate_id)
        .where(i.account_id == account_id)
        .order_by(i.opened_at.desc(), i.id.desc())
        .limit(min(limit, 500))
    )
    if status:
        query = query.where(i.status == status)
    return list(conn.execute(query))


def list_messages(conn: Connection, *, account_id: int, incident_ids: list[int]) -> dict[int, list[Row]]:
    """The messages about these incidents (oldest first), with their channel's name."""
    if not incident_ids:
        return {}
    m = alert_messages.c
    query = (
        select(alert_messages, alert_channels.c.name.label("channel_name"), alert_channels.c.kind.label("channel_kind"))
        .join(alert_channels, alert_channels.c.id == m.channel_id)
        .where(m.account_id == account_id, m.incident_id.in_(incident_ids))
        .order_by(m.id)
    )
    found: dict[int, list[Row]] = {}
    for r in conn.execute(query):
        found.setdefault(r.incident_id, []).append(r)
    return found
