"""Notifications: what marketplaces pushed (Mercado Livre's orders_v2…), read with the seller's own token.

The callback kept only ids (its body is unsigned, so nothing in it is believed); here each notification's
resource is fetched by the connector of every affiliate connected as its seller, and the orders found are
recorded once, however many times the same order was notified.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.base import CallFailed, Connector, ErpProduct, Notice
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Deferred
from ponte.domain import Status, Trigger
from ponte.engine.intake import record_incoming
from ponte.store.affiliates import Affiliate, affiliates_by_id
from ponte.store.credentials import affiliates_for_subject
from ponte.store.db import Database
from ponte.store.notifications import (
    DONE,
    FAILED,
    IGNORED,
    NotificationRow,
    claim_notifications,
    retry_notification,
    settle_notification,
)
from ponte.store.queue import mark_changed

log = logging.getLogger("ponte.worker")

BATCH = 50
LEASE = 120.0
MAX_TRIES = 8  # then the safety-net poll of the order feed is what finds the order
BACKOFF = (5.0, 30.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)


# What takes an ERP's products a notification named into the store's catalog (services.erp_catalog.keep_notified,
# given by whoever builds the worker: the engine does not write the catalog itself).
KeepCatalog = Callable[[Connection, Affiliate, list[ErpProduct]], int]


def process_notifications(
    db: Database, connector_for: Callable[[Affiliate], Connector], keep_catalog: KeepCatalog | None = None
) -> int:
    """Read the resources of waiting notifications; returns how many notifications were handled."""
    with db.write() as conn:
        batch = claim_notifications(conn, now=now(), lease_seconds=LEASE, limit=BATCH)
    for notification in batch:
        try:
            _process(db, notification, connector_for, keep_catalog)
        except Exception as exc:  # one notification's trouble never stops the others
            log.warning("notification %s failed: %s", notification.id, traceback.format_exc())
            _retry(db, notification, f"internal error: {exc}")
    return len(batch)


def _process(
    db: Database,
    notification: NotificationRow,
    connector_for: Callable[[Affiliate], Connector],
    keep_catalog: KeepCatalog | None,
) -> None:
    with db.read() as conn:
        ids = affiliates_for_subject(conn, connector=notification.connector, subject=notification.subject)
        targets = [a for a in affiliates_by_id(conn, ids).values() if a.enabled]
    if not targets:
        with db.write() as conn:
            settle_notification(
                conn,
                notification_id=notification.id,
                status=IGNORED,
                now=now(),
                error=f"no enabled affiliate is connected as seller {notification.subject}",
            )
        return
    notice = Notice(notification.subject, notification.topic, notification.resource)
    for affiliate in targets:
        try:
            resolved = connector_for(affiliate).resolve(notice)
        except (CredentialsMissing, CredentialsRevoked) as exc:
            log.info("notification %s for %s not read: %s", notification.id, affiliate.code, exc)
            continue
        except Deferred as deferred:
            _retry(db, notification, str(deferred), at=deferred.seconds)
            return
        except CallFailed as failed:
            _retry(db, notification, failed.outcome.message)
            return
        if resolved.outcome is not None and resolved.outcome.status == Status.ERROR:
            _retry(db, notification, resolved.outcome.message)
            return
        with db.write() as conn:
            record_incoming(
                conn,
                affiliate_id=affiliate.id,
                account_id=affiliate.account_id,
                code=affiliate.code,
                raw_orders=resolved.orders,
            )
            if resolved.catalog and keep_catalog is not None:
                keep_catalog(conn, affiliate, resolved.catalog)
            for flow, entity in resolved.resend:
                mark_changed(
                    conn,
                    account_id=affiliate.account_id,
                    flow=flow,
                    keys=[(affiliate.id, entity)],
                    trigger=Trigger.EXTERNAL,
                    actor=f"notification:{notification.topic}",
                )
    with db.write() as conn:
        settle_notification(conn, notification_id=notification.id, status=DONE, now=now())


def _retry(db: Database, notification: NotificationRow, error: str, at: float | None = None) -> None:
    with db.write() as conn:
        if notification.tries + 1 >= MAX_TRIES:
            settle_notification(conn, notification_id=notification.id, status=FAILED, now=now(), error=error[:2000])
            return
        delay = at if at is not None else BACKOFF[min(notification.tries, len(BACKOFF) - 1)]
        retry_notification(conn, notification_id=notification.id, at=now() + timedelta(seconds=delay), error=error)
