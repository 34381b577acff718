"""Flows, statuses, triggers and dispositions: the words Ponte is built from. No I/O here."""

from __future__ import annotations

from enum import StrEnum


class Flow(StrEnum):
    ORDER = "order"
    PRODUCT = "product"
    TRACKING = "tracking"
    PRICE = "price"
    INVENTORY = "inventory"


# Flows whose entity is a SKU code; the others are keyed by an order id.
SKU_FLOWS = (Flow.PRODUCT, Flow.PRICE, Flow.INVENTORY)
ORDER_FLOWS = (Flow.ORDER, Flow.TRACKING)


class Status(StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    PENDING = "pending"


class Disposition(StrEnum):
    """What the operator (and the engine) should do about a failed attempt."""

    TRANSIENT = "transient"  # retry automatically with backoff
    FIX = "fix"  # keep as error until the data is fixed and reprocessed
    MARKETPLACE = "marketplace"  # only the marketplace can unblock it
    WAIT = "wait"  # clears by itself: retry on a long schedule
    TERMINAL = "terminal"  # nothing will make it succeed


class Trigger(StrEnum):
    """What caused an attempt."""

    CHANGE = "change"  # a catalog or order change
    RETRY = "retry"  # automatic retry after a transient error
    REPROCESS = "reprocess"  # a person asked for it
    IMPORT = "import"  # an order fetched from a marketplace feed or webhook
    EXTERNAL = "external"  # reported by a system outside Ponte
    RECONCILIATION = "reconciliation"  # reading the marketplace back found it holds something else


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]
        return order.index(self) >= order.index(needed)
