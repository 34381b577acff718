"""The connector interface. A connector turns one flow's payload into HTTP calls and the answer into an Outcome.

Retry policy, attempt logging and error classification live outside connectors, in the engine;
a connector only says what happened, as precisely as it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ponte.domain import Disposition, Status


@dataclass
class Outcome:
    """What one call to a marketplace or ERP came to.

    `category` and `disposition` are the connector's own reading of an error when it is sure of it
    (a documented error code); otherwise leave them None and the knowledge base classifies `message`.
    `transient` is a hint for errors the connector knows are temporary (timeouts, 5xx, 429).
    """

    status: Status
    message: str = ""
    code: str | None = None
    category: str | None = None
    disposition: Disposition | None = None
    transient: bool = False
    retry_after: float | None = None  # seconds, from a Retry-After header
    http_status: int | None = None
    request: Any = None
    response: Any = None
    external_ref: str | None = None  # the marketplace's id for the entity, when it gives one

    @classmethod
    def ok(cls, message: str = "", **kwargs: Any) -> Outcome:
        return cls(Status.SUCCESS, message, **kwargs)

    @classmethod
    def warning(cls, message: str, **kwargs: Any) -> Outcome:
        return cls(Status.WARNING, message, **kwargs)

    @classmethod
    def error(cls, message: str, **kwargs: Any) -> Outcome:
        return cls(Status.ERROR, message, **kwargs)


@dataclass
class FetchedOrders:
    """A page of the marketplace's order feed: the orders, and the cursor to resume from."""

    orders: list[dict[str, Any]]
    cursor: str | None
    outcome: Outcome | None = None  # set when the feed itself could not be read
    extra: dict[str, Any] = field(default_factory=dict)


class ConnectorSettings(BaseModel):
    """Base of each connector's settings model. Fields typed SecretStr are stored encrypted."""

    model_config = ConfigDict(extra="forbid")


class Connector:
    """Base class of every connector. Subclasses set `kind` and `Settings`, and implement the calls they support.

    An instance is made per affiliate with its validated settings, and may keep state between calls
    (an access token, say); the engine calls one instance from one thread at a time.
    """

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    flows: ClassVar[frozenset[str]] = frozenset()  # flows it can send; "order" means it fetches orders

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        affiliate_code: str,
        timeout: float = 10.0,
        body_limit: int = 16_384,
    ) -> None:
        self.settings = settings
        self.affiliate_code = affiliate_code
        self.timeout = timeout
        self.body_limit = body_limit

    # Each send_* receives the payload built from the store's current data (see engine/payloads.py).
    def send_product(self, payload: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def send_price(self, payload: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def send_inventory(self, payload: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def send_tracking(self, payload: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def send_order(self, payload: dict[str, Any]) -> Outcome:
        """Hand a placed store order to this system (ERPs)."""
        raise NotImplementedError

    def fetch_orders(self, cursor: str | None) -> FetchedOrders:
        """Read the next page of new orders from the marketplace's feed."""
        raise NotImplementedError

    def acknowledge_order(self, external_id: str, outcome: Outcome) -> Outcome:
        """Tell the marketplace the order was integrated (or why not)."""
        return Outcome.ok("acknowledgement not needed")

    def test_connection(self) -> Outcome:
        """Check the settings and credentials without changing anything."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called when the engine drops the instance."""
