"""A SKU's offer as Mirakl takes it (OF24 `offers[]`, and the same fields as OF01 columns).

OF24 replaces the whole offer: "You must send all offer fields. Offer fields that are not sent are reset to their
default value", and a quantity not sent is set to 0 (spec OF24, field `quantity`). So every offer Ponte sends
carries everything Ponte knows of it — price, discount, stock, lead time — whichever of them changed; the engine
hands a price send its stock and a stock send its price for that (PriceSend.quantity, StockSend.price).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ponte.connectors.base import Outcome, PriceSend, StockSend
from ponte.connectors.mirakl.settings import MiraklSettings
from ponte.domain import Disposition
from ponte.domain.messages import say

Offer = dict[str, Any]


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def offer_of(send: PriceSend | StockSend, settings: MiraklSettings) -> Offer | Outcome:
    """The offer to send for a price or stock change, or why it cannot be sent (an Outcome, no call made)."""
    price, list_price, quantity, days = send.price, send.list_price, send.quantity, send.handling_days
    if price is None or price <= 0:
        return Outcome.error(
            say("msg.mirakl.no_price", sku=send.sku),
            category="sku_not_sellable",
            disposition=Disposition.FIX,
            code="no_price",
        )
    if quantity is None:  # the engine always knows it; never let Mirakl set the stock to 0 by omission
        return Outcome.error(say("msg.send.stock_unknown", sku=send.sku), transient=True)
    listing = send.listing.data if send.listing is not None else {}
    offer: Offer = {
        "shop_sku": send.sku,
        "product_id": str(listing.get("product_id") or send.sku),
        "product_id_type": str(listing.get("product_id_type") or "SHOP_SKU"),
        "price": _money(price),
        "quantity": max(0, int(quantity)),
        "state_code": settings.offer_state,
        "update_delete": "update",
    }
    # The store's "de/por": Mirakl's origin price with a discount price below it.
    if list_price is not None and list_price > price:
        offer["price"] = _money(list_price)
        offer["discount"] = {"price": _money(price)}
    if days is not None:
        offer["leadtime_to_ship"] = int(days)
    if settings.logistic_class:
        offer["logistic_class"] = settings.logistic_class
    return offer
