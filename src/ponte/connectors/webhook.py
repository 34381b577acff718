"""The webhook connector: hands orders (and tracking) to an ERP as signed JSON POSTs.

Each delivery is `{"event", "delivery_id", "timestamp", "data"}` with headers
`X-Ponte-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the shared secret>`,
`X-Ponte-Timestamp` (Unix seconds, also inside the signed body so it cannot be swapped) and
`X-Ponte-Delivery` (unique per delivery, for the receiver to drop duplicates).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import orjson
from pydantic import Field, SecretStr, field_validator

from ponte.connectors.base import (
    Connector,
    ConnectorSettings,
    FetchedOrders,
    OrderSend,
    Outcome,
    TrackingSend,
    http_url,
)
from ponte.connectors.http import HttpClient, header_problem
from ponte.connectors.sandbox import outcome_from_result
from ponte.domain import Disposition
from ponte.domain.messages import say

SIGNATURE_HEADER = "X-Ponte-Signature"
TIMESTAMP_HEADER = "X-Ponte-Timestamp"
DELIVERY_HEADER = "X-Ponte-Delivery"
EVENT_HEADER = "X-Ponte-Event"
# The receiver is an address a store gave: of an error answer, a line is kept, never a whole page of it.
ERROR_BODY_LIMIT = 300


class WebhookSettings(ConnectorSettings):
    url: str  # where deliveries are POSTed
    secret: SecretStr  # shared with the receiver, keys the HMAC signature
    # Extra headers, e.g. a receiver's API key: values that can carry a credential, so sealed and never shown.
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        http_url(value)
        return value

    @field_validator("headers")
    @classmethod
    def _sendable(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        """Refused when saved, not found out at every delivery: a header that cannot travel is never sent."""
        for name, text in value.items():
            problem = header_problem(name, text.get_secret_value())
            if problem:
                raise ValueError(f"the header {name!r} {problem}")
        return value


def sign(secret: str, body: bytes) -> str:
    """The signature header value for a body: `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature or "")


class WebhookConnector(Connector):
    kind = "webhook"
    role = "erp"
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "pt-BR": {"name": "Webhook assinado (ERP)"},
        "en": {"name": "Signed webhook (ERP)"},
        "es": {"name": "Webhook firmado (ERP)"},
    }
    Settings = WebhookSettings
    flows = frozenset({"order", "tracking"})

    def __init__(self, settings: ConnectorSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        assert isinstance(settings, WebhookSettings)
        self.config = settings
        self._secret = settings.secret.get_secret_value()
        self._headers = {name: value.get_secret_value() for name, value in settings.headers.items()}
        extra_secrets = list(self._headers.values())  # any of them may be a key: none is recorded
        # The receiver's URL as given (path and query untouched): the origin is the client's base, the rest its path.
        parts = urlsplit(settings.url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.http = HttpClient(
            f"{parts.scheme}://{parts.netloc}",
            timeout=self.timeout,
            body_limit=self.body_limit,
            secrets=[self._secret, *extra_secrets],
            error_body_limit=ERROR_BODY_LIMIT,
        )

    def deliver(self, event: str, data: Any) -> Outcome:
        """POST one signed delivery; 2xx is success (the receiver's message kept), 4xx an error, 5xx transient."""
        delivery_id = uuid.uuid4().hex
        timestamp = str(int(time.time()))
        envelope = {"event": event, "delivery_id": delivery_id, "timestamp": int(timestamp), "data": data}
        body = orjson.dumps(envelope)
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body),
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: event,
        }
        result = self.http.request("POST", self._path, content=body, headers=headers)
        result.sent = envelope  # content= bypasses the client's record of what was sent
        outcome = outcome_from_result(result, say("msg.send.delivered", delivery=delivery_id))
        if outcome.http_status in (401, 403):
            # The receiver refused the signature or the key: the shared secret or headers are wrong.
            outcome.category, outcome.disposition = "integration_config", Disposition.FIX
        elif result.ok and isinstance(result.body, dict) and result.body.get("message"):
            outcome.message = str(result.body["message"])
        if result.ok and isinstance(result.body, dict):
            ref = result.body.get("id") or result.body.get("order_id")
            outcome.external_ref = str(ref) if ref is not None else None
        return outcome

    def send_order(self, send: OrderSend) -> Outcome:
        return self.deliver("order", send.as_json())

    def send_tracking(self, send: TrackingSend) -> Outcome:
        return self.deliver(
            "tracking",
            {
                "order_id": send.order_id,
                "invoice_key": send.invoice_key,
                "carrier": send.carrier,
                "tracking_number": send.tracking_number,
                "items": [{"sku": line.sku, "quantity": line.quantity} for line in send.items],
            },
        )

    def fetch_orders(self, cursor: str | None) -> FetchedOrders:
        # A webhook only pushes; an ERP has no order feed to read.
        return FetchedOrders([], cursor)

    def test_connection(self) -> Outcome:
        """A signed `ping` delivery; the receiver should answer 2xx."""
        return self.deliver("ping", {"affiliate": self.affiliate_code})

    def close(self) -> None:
        self.http.close()
