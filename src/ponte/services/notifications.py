"""Notifications marketplaces push: kept at once by their ids, read later by a worker."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.registry import get_connector_class
from ponte.domain.messages import say
from ponte.services.errors import InputError, NotFound
from ponte.store.notifications import record_notification


def receive_notification(conn: Connection, *, kind: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Keep what `kind`'s connector reads in a pushed body (its ids only). Returns False for a body that is not
    one of its notifications (answered 200 all the same: the marketplace must not retry it for ever)."""
    try:
        cls = get_connector_class(kind)
    except LookupError:
        raise NotFound(say("msg.not_found.notifications", connector=kind))
    try:
        notice = cls.read_notification(body, headers)
    except ValueError as exc:
        raise InputError(say("msg.notification.unreadable", connector=kind, problem=str(exc)))
    if notice is None:
        return False
    record_notification(
        conn, connector=kind, subject=notice.subject, topic=notice.topic, resource=notice.resource, now=now()
    )
    return True
