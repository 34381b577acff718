"""Marketplace webhooks: HMAC signature checks and replay protection.

The marketplace signs `timestamp + "." + body` with HMAC-SHA256 under the affiliate's webhook secret
(kept encrypted in the affiliate's secrets as `webhook_secret`) and sends
`X-Ponte-Timestamp`, `X-Ponte-Signature: sha256=<hex>` and `X-Ponte-Delivery`.
A delivery is refused when the signature does not verify, when the timestamp is more than TOLERANCE away
from now, or when its delivery id was seen before. Receipts older than twice the tolerance can go: a replay of
them carries a timestamp the tolerance already refuses.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ponte.clock import now as clock_now
from ponte.domain.messages import Message, say
from ponte.i18n import english
from ponte.secrets import SecretBox
from ponte.store import webhooks as store

TOLERANCE = timedelta(minutes=5)
SECRET_KEY = "webhook_secret"


class WebhookRefused(Exception):
    """The delivery cannot be accepted. `status` is 401 (not authentic) or 409 (replayed)."""

    def __init__(self, status: int, said: Message) -> None:
        super().__init__(english(said))
        self.status = status
        self.said = said


@dataclass(frozen=True)
class Sender:
    """The affiliate a delivery was authenticated as."""

    account_id: int
    affiliate_id: int
    code: str


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Ponte-Signature` value for a delivery: `sha256=<hex>` of `timestamp + "." + body`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _fresh(timestamp: str, when: datetime) -> None:
    try:
        sent = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRefused(401, say("msg.webhook.timestamp_format"))
    if abs(when - sent) > TOLERANCE:
        raise WebhookRefused(401, say("msg.webhook.timestamp_far"))


def authenticate(
    conn: Connection,
    *,
    box: SecretBox,
    affiliate_code: str,
    account_slug: str | None = None,
    timestamp: str,
    signature_header: str,
    body: bytes,
    now: datetime | None = None,
) -> Sender:
    """The affiliate whose webhook secret signed this delivery. Raises WebhookRefused otherwise.

    Without the account in the URL, every enabled affiliate with that code is tried: the signature
    itself says which store the delivery belongs to. The same answer is given whether the code is unknown
    or the signature wrong, so the endpoint tells an attacker nothing about which codes exist.
    """
    _fresh(timestamp, now or clock_now())
    for row in store.signers(conn, code=affiliate_code.upper(), account_slug=account_slug):
        secret = box.open(row.secrets).get(SECRET_KEY)
        if secret and hmac.compare_digest(signature(str(secret), timestamp, body), signature_header):
            return Sender(account_id=row.account_id, affiliate_id=row.id, code=row.code)
    raise WebhookRefused(401, say("msg.webhook.signature"))


def remember_delivery(conn: Connection, *, sender: Sender, delivery_id: str, now: datetime | None = None) -> None:
    """Record the delivery id; WebhookRefused(409) when it was already received."""
    when = now or clock_now()
    store.forget_receipts(conn, affiliate_id=sender.affiliate_id, before=when - 4 * TOLERANCE)
    seen = store.was_received(conn, affiliate_id=sender.affiliate_id, delivery_id=delivery_id)
    if seen:
        raise WebhookRefused(409, say("msg.webhook.replayed", delivery=delivery_id))
    try:
        with conn.begin_nested():
            store.insert_receipt(conn, affiliate_id=sender.affiliate_id, delivery_id=delivery_id, at=when)
    except IntegrityError:  # the same delivery arriving twice at once
        raise WebhookRefused(409, say("msg.webhook.replayed", delivery=delivery_id))


def parse_order(body: bytes) -> dict[str, Any]:
    """The order object of a delivery: the body itself, or its `data` when wrapped in an envelope."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRefused(400, say("msg.webhook.not_json"))
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "event" in data:
        data = data["data"]
    if not isinstance(data, dict):
        raise WebhookRefused(400, say("msg.webhook.not_object"))
    return data
