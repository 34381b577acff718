"""What a connector can do, read from the connector itself: a flow is given to an affiliate only when its
connector declares it (`flows`) and implements the call that carries it. A webhook saved as a marketplace was
sent every catalog change and failed each with NotImplementedError, retried as transient for ever; now such
sends are never queued, and an affiliate whose kind asks for what its connector cannot do is refused when saved.
"""

from __future__ import annotations

from ponte.connectors.base import Connector
from ponte.connectors.registry import get_connector_class
from ponte.domain import Flow
from ponte.domain.messages import Message, say

# The call that carries each flow for each kind of affiliate: marketplaces receive the catalog and tracking and
# give orders; an ERP receives the store's orders (and their tracking).
CALLS = {
    "marketplace": {
        Flow.PRODUCT.value: "send_product",
        Flow.PRICE.value: "send_price",
        Flow.INVENTORY.value: "send_inventory",
        Flow.TRACKING.value: "send_tracking",
        Flow.ORDER.value: "fetch_orders",
    },
    "erp": {Flow.ORDER.value: "send_order", Flow.TRACKING.value: "send_tracking"},
}


def supported_flows(cls: type[Connector], kind: str) -> frozenset[str]:
    """The flows an affiliate of `kind` with this connector is given."""
    calls = CALLS.get(kind, {})
    return frozenset(
        flow for flow, call in calls.items() if flow in cls.flows and (_implements(cls, call) or _batched(cls, flow))
    )


def _implements(cls: type[Connector], call: str) -> bool:
    return getattr(cls, call, None) is not getattr(Connector, call)


def _batched(cls: type[Connector], flow: str) -> bool:
    """A flow the connector always sends in batches (Mirakl's offers) is carried by its batch call."""
    spec = cls.batches.get(flow)
    return spec is not None and spec.mode == "always" and _implements(cls, "send_batch")


def supports(connector: str, flow: str, kind: str) -> bool:
    """Whether an affiliate of `kind` with the connector registered as `connector` is given `flow`. An uninstalled
    connector supports nothing (its affiliate's sends would fail; none are queued)."""
    try:
        cls = get_connector_class(connector)
    except LookupError:
        return False
    return flow in supported_flows(cls, kind)


def problem(connector: str, kind: str) -> Message | None:
    """Why an affiliate of `kind` cannot have this connector, or None. A marketplace must receive the catalog (some
    of product, price, stock); an ERP must receive orders."""
    cls = get_connector_class(connector)
    flows = supported_flows(cls, kind)
    if kind == "marketplace" and not flows & {Flow.PRODUCT.value, Flow.PRICE.value, Flow.INVENTORY.value}:
        return say("msg.connector.not_a_marketplace", connector=connector)
    if kind == "erp" and Flow.ORDER.value not in flows:
        return say("msg.connector.not_an_erp", connector=connector)
    return None


def maps_catalog(cls: type[Connector]) -> bool:
    """Whether the connector reads the marketplace's category tree and attributes (category and attribute mapping,
    checks before sending)."""
    return _implements(cls, "category_tree") and _implements(cls, "category_attributes")


def reads_back(connector: str) -> bool:
    """Whether the connector registered as `connector` can read its listings back (reconciliation)."""
    return _registered_implements(connector, "read_listings")


def can_preview(connector: str) -> bool:
    """Whether the connector's marketplace judges a listing before it is sent (`Connector.preview`)."""
    return _registered_implements(connector, "preview")


def _registered_implements(connector: str, method: str) -> bool:
    try:
        cls = get_connector_class(connector)
    except LookupError:
        return False
    return _implements(cls, method)
