"""Marketplace webhooks as stored: which affiliates may have signed a delivery, and the deliveries received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from ponte.store.tables import accounts, affiliates, webhook_receipts


@dataclass(frozen=True)
class WebhookSigner:
    """An enabled affiliate with sealed secrets: one that may hold a webhook secret."""

    id: int
    account_id: int
    code: str
    secrets: str


def signers(conn: Connection, *, code: str, account_slug: str | None) -> list[WebhookSigner]:
    """The enabled affiliates with this code (of the account with this slug, when given) that have secrets."""
    query = select(affiliates.c.id, affiliates.c.account_id, affiliates.c.code, affiliates.c.secrets).where(
        affiliates.c.code == code, affiliates.c.enabled.is_(True), affiliates.c.secrets.is_not(None)
    )
    if account_slug is not None:
        query = query.join(accounts, accounts.c.id == affiliates.c.account_id).where(accounts.c.slug == account_slug)
    return [WebhookSigner(*row) for row in conn.execute(query.order_by(affiliates.c.id))]


def forget_receipts(conn: Connection, *, affiliate_id: int, before: datetime) -> None:
    conn.execute(
        delete(webhook_receipts).where(
            webhook_receipts.c.affiliate_id == affiliate_id, webhook_receipts.c.received_at < before
        )
    )


def was_received(conn: Connection, *, affiliate_id: int, delivery_id: str) -> bool:
    seen = conn.execute(
        select(webhook_receipts.c.delivery_id).where(
            webhook_receipts.c.affiliate_id == affiliate_id, webhook_receipts.c.delivery_id == delivery_id
        )
    ).first()
    return seen is not None


def insert_receipt(conn: Connection, *, affiliate_id: int, delivery_id: str, at: datetime) -> None:
    """Record the delivery; IntegrityError when it is already recorded."""
    conn.execute(insert(webhook_receipts).values(affiliate_id=affiliate_id, delivery_id=delivery_id, received_at=at))
