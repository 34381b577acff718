"""Alert incidents and their messages as stored: read and written as typed records (ponte.alerts.incidents
decides when one opens, is notified, updated or resolved)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from ponte.store.tables import accounts, affiliates, alert_channels, alert_incidents, alert_messages

OPEN, RESOLVED = "open", "resolved"


@dataclass(frozen=True)
class Incident:
    """One condition of one rule, from when it fires until it clears."""

    id: int
    account_id: int
    rule_id: int
    key: str  # rule id + subject: the same condition finds its incident
    kind: str
    flow: str | None
    affiliate_id: int | None
    status: str  # open | resolved
    facts: dict[str, Any]
    notified_facts: dict[str, Any] | None
    opened_at: datetime
    last_seen_at: datetime
    notified_at: datetime | None
    resolved_at: datetime | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Incident:
        return cls(**{name: getattr(row, name) for name in Incident.__dataclass_fields__})


@dataclass(frozen=True)
class ListedIncident(Incident):
    """An incident as the alert history lists it, with its affiliate's code."""

    affiliate_code: str | None = None

    @classmethod
    def from_row(cls, row: Row[Any]) -> ListedIncident:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


def get_incident(conn: Connection, *, incident_id: int) -> Incident:
    return Incident.from_row(conn.execute(select(alert_incidents).where(alert_incidents.c.id == incident_id)).one())


def insert_incident(conn: Connection, values: Mapping[str, Any]) -> int:
    """A new incident of alert_incidents' columns; returns its id."""
    stmt = insert(alert_incidents).values(**values).returning(alert_incidents.c.id)
    return int(conn.execute(stmt).scalar_one())


def change_incident(conn: Connection, *, incident_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(alert_incidents).where(alert_incidents.c.id == incident_id).values(**values))


def recently_resolved(conn: Connection, *, account_id: int, key: str, since: datetime) -> Incident | None:
    """The account's newest incident of `key` resolved at `since` or later."""
    i = alert_incidents.c
    query = (
        select(alert_incidents)
        .where(i.account_id == account_id, i.status == RESOLVED, i.key == key, i.resolved_at >= since)
        .order_by(i.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else Incident.from_row(row)


def open_incidents(conn: Connection) -> dict[int, dict[str, Incident]]:
    """Every account's open incidents, by account and key, read account by account on the (account_id, status)
    index: resolved incidents are never deleted, and `status = 'open'` alone would read them all."""
    i = alert_incidents.c
    query = select(alert_incidents).where(i.account_id.in_(select(accounts.c.id)), i.status == OPEN)
    found: dict[int, dict[str, Incident]] = defaultdict(dict)
    for row in conn.execute(query.order_by(i.id)):
        found[row.account_id][row.key] = Incident.from_row(row)
    return found


def see_again(conn: Connection, *, facts: Mapping[int, dict[str, Any]], now: datetime) -> None:
    """Give incidents (by id) their new facts, seen at `now`, in one executemany."""
    i = alert_incidents.c
    conn.execute(
        update(alert_incidents)
        .where(i.id == bindparam("incident_id"))
        .values(facts=bindparam("new_facts"), last_seen_at=now),
        [{"incident_id": incident_id, "new_facts": new} for incident_id, new in facts.items()],
    )


def account_incidents(
    conn: Connection, *, account_id: int, limit: int, status: str | None = None
) -> list[ListedIncident]:
    """The account's incidents, newest first, with their affiliate code."""
    i = alert_incidents.c
    query = (
        select(alert_incidents, affiliates.c.code.label("affiliate_code"))
        .outerjoin(affiliates, affiliates.c.id == i.affiliate_id)
        .where(i.account_id == account_id)
        .order_by(i.opened_at.desc(), i.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(i.status == status)
    return [ListedIncident.from_row(r) for r in conn.execute(query)]


@dataclass(frozen=True)
class SentMessage:
    """A message about an incident, as the alert history shows it, with its channel's name and kind."""

    id: int
    account_id: int
    incident_id: int
    channel_id: int
    event: str
    subject: str
    body: str
    status: str
    tries: int
    error: str | None
    error_key: str | None
    error_params: str | None
    created_at: datetime
    sent_at: datetime | None
    claimed_at: datetime | None
    channel_name: str
    channel_kind: str

    @classmethod
    def from_row(cls, row: Row[Any]) -> SentMessage:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


def incident_messages(
    conn: Connection, *, account_id: int, incident_ids: Sequence[int]
) -> dict[int, list[SentMessage]]:
    """The messages about these incidents (oldest first), by incident."""
    if not incident_ids:
        return {}
    m = alert_messages.c
    query = (
        select(alert_messages, alert_channels.c.name.label("channel_name"), alert_channels.c.kind.label("channel_kind"))
        .join(alert_channels, alert_channels.c.id == m.channel_id)
        .where(m.account_id == account_id, m.incident_id.in_(list(incident_ids)))
        .order_by(m.id)
    )
    found: dict[int, list[SentMessage]] = {}
    for r in conn.execute(query):
        found.setdefault(r.incident_id, []).append(SentMessage.from_row(r))
    return found
