"""Alert rules, channels and the messages' outbox as stored: typed records in and out (ponte.alerts decides what
they mean and what to send)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, literal_column, or_, select, update

from ponte.store.tables import accounts, alert_channels, alert_messages, alert_rules

# -- rules ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: int
    account_id: int
    kind: str
    flow: str | None
    affiliate_id: int | None
    threshold: float | None
    window_minutes: int | None
    min_count: int | None
    enabled: bool
    builtin: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Rule:
        values = dict(row._mapping)
        if isinstance(values["threshold"], Decimal):
            values["threshold"] = float(values["threshold"])
        return cls(**values)


def has_rules(conn: Connection, *, account_id: int) -> bool:
    query = select(alert_rules.c.id).where(alert_rules.c.account_id == account_id).limit(1)
    return conn.execute(query).first() is not None


def accounts_without_rules(conn: Connection) -> list[int]:
    """The accounts that never had an alert rule (new accounts)."""
    has = select(alert_rules.c.id).where(alert_rules.c.account_id == accounts.c.id).exists()
    return [int(account_id) for (account_id,) in conn.execute(select(accounts.c.id).where(~has))]


def insert_rules(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rules of alert_rules' columns (every row with the same ones), in one executemany."""
    conn.execute(insert(alert_rules), [dict(r) for r in rows])


def insert_rule(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(alert_rules).values(**values).returning(alert_rules.c.id)).scalar_one())


def account_alert_rules(conn: Connection, *, account_id: int) -> list[Rule]:
    query = select(alert_rules).where(alert_rules.c.account_id == account_id).order_by(alert_rules.c.id)
    return [Rule.from_row(r) for r in conn.execute(query)]


def every_enabled_rule(conn: Connection) -> list[Rule]:
    """Every account's enabled rules, by account and then by id (one statement)."""
    query = select(alert_rules).where(alert_rules.c.enabled.is_(True))
    return [Rule.from_row(r) for r in conn.execute(query.order_by(alert_rules.c.account_id, alert_rules.c.id))]


def find_rule(conn: Connection, *, account_id: int, rule_id: int) -> Rule | None:
    query = select(alert_rules).where(alert_rules.c.account_id == account_id, alert_rules.c.id == rule_id)
    row = conn.execute(query).first()
    return None if row is None else Rule.from_row(row)


def change_rule(conn: Connection, *, rule_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(alert_rules).where(alert_rules.c.id == rule_id).values(**values))


def delete_rule_row(conn: Connection, *, rule_id: int) -> None:
    conn.execute(delete(alert_rules).where(alert_rules.c.id == rule_id))


# -- channels ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """Where an account's alerts go. `secrets` stays sealed (the app's SecretBox) until a sender is built."""

    id: int
    account_id: int
    kind: str  # email | webhook
    name: str
    settings: dict[str, Any]
    secrets: str | None
    locale: str
    enabled: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> Channel:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


def account_channels(conn: Connection, *, account_id: int, enabled_only: bool = False) -> list[Channel]:
    query = select(alert_channels).where(alert_channels.c.account_id == account_id)
    if enabled_only:
        query = query.where(alert_channels.c.enabled.is_(True))
    return [Channel.from_row(r) for r in conn.execute(query.order_by(alert_channels.c.id))]


def find_channel(conn: Connection, *, account_id: int, channel_id: int) -> Channel | None:
    query = select(alert_channels).where(alert_channels.c.account_id == account_id, alert_channels.c.id == channel_id)
    row = conn.execute(query).first()
    return None if row is None else Channel.from_row(row)


def insert_channel(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(alert_channels).values(**values).returning(alert_channels.c.id)).scalar_one())


def change_channel(conn: Connection, *, channel_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(alert_channels).where(alert_channels.c.id == channel_id).values(**values))


def delete_channel_row(conn: Connection, *, channel_id: int) -> None:
    conn.execute(delete(alert_channels).where(alert_channels.c.id == channel_id))


# -- the messages' outbox ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewMessage:
    """A message about an incident to one channel, queued to go out after the commit."""

    account_id: int
    incident_id: int
    channel_id: int
    event: str  # opened | update | resolved
    subject: str
    body: str
    status: str
    tries: int
    created_at: datetime


def queue_messages(conn: Connection, messages: Sequence[NewMessage]) -> None:
    if messages:
        names = [f.name for f in fields(NewMessage)]
        conn.execute(insert(alert_messages), [{name: getattr(m, name) for name in names} for m in messages])


@dataclass(frozen=True)
class Outgoing:
    """A message claimed for delivery, with what its channel's sender needs."""

    id: int
    subject: str
    body: str
    tries: int
    kind: str
    settings: dict[str, Any]
    secrets: str | None


def claim_messages(conn: Connection, *, now: datetime, stale_before: datetime, limit: int) -> list[Outgoing]:
    """Take up to `limit` queued messages for this process, after giving back those claimed before
    `stale_before` (held by a process that died)."""
    m = alert_messages.c
    conn.execute(
        update(alert_messages)
        .where(m.status == "sending", or_(m.claimed_at.is_(None), m.claimed_at < stale_before))
        .values(status="queued")
    )
    ids = [r.id for r in conn.execute(select(m.id).where(m.status == "queued").order_by(m.id).limit(limit))]
    if not ids:
        return []
    # RETURNING gives exactly the rows this process flipped: a concurrent deliverer gets the others.
    claimed = conn.execute(
        update(alert_messages)
        .where(m.id.in_(ids), m.status == "queued")
        .values(status="sending", tries=m.tries + 1, claimed_at=now)
        .returning(m.id)
    )
    mine = [r.id for r in claimed]
    rows = conn.execute(
        select(alert_messages, alert_channels.c.kind, alert_channels.c.settings, alert_channels.c.secrets)
        .join(alert_channels, alert_channels.c.id == m.channel_id)
        .where(m.id.in_(mine))
        .order_by(m.id)
    )
    return [Outgoing(r.id, r.subject, r.body, r.tries, r.kind, r.settings, r.secrets) for r in rows]


def record_delivery(
    conn: Connection,
    *,
    message_id: int,
    status: str,
    error: str | None,
    error_key: str | None,
    error_params: str | None,
    sent_at: datetime | None,
) -> None:
    """What became of a delivery: sent, queued again or failed for good (why, in English and as Ponte's words)."""
    values = {"status": status, "error": error, "error_key": error_key, "error_params": error_params}
    conn.execute(update(alert_messages).where(alert_messages.c.id == message_id).values(**values, sent_at=sent_at))


def try_evaluation_lock(conn: Connection, *, key: int) -> bool:
    """Take the transaction's advisory lock `key` unless another holds it (PostgreSQL); SQLite's write transaction
    (BEGIN IMMEDIATE) already serialises writers."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(select(func.pg_try_advisory_xact_lock(literal_column(str(key))))).scalar())
