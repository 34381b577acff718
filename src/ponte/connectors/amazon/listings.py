"""A SKU as the Listings Items API 2021-08-01 takes it: the attributes its product type asks for, and the patches
that change its price and stock (the same bodies ride in a JSON_LISTINGS_FEED's messages).

Attribute shapes are the Product Type Definitions' (each value a list of objects naming its `marketplace_id`, texts
their `language_tag`), as the models' own examples write them: `item_name`, `fulfillment_availability`
(listings-feed-schema-v2.example.json), `purchasable_offer.our_price[].schedule[].value_with_tax`
(developer-docs.amazon.com/sp-api/docs/manage-purchasable-offer). Stock is merged (`op: merge`, amazon-sp-api.md
§ 2), so a quantity change keeps the lead time Amazon has; the selector `fulfillment_channel_code` is always sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ponte.connectors.amazon.settings import AmazonSettings
from ponte.connectors.base import ProductSend

MAX_BULLETS = 5  # Amazon shows five bullet points
MAX_OTHER_IMAGES = 8  # other_product_image_locator_1 … _8


def _text(value: str, config: AmazonSettings) -> list[dict[str, Any]]:
    return [{"value": value, "language_tag": config.language_tag, "marketplace_id": config.marketplace_id}]


def _plain(value: Any, config: AmazonSettings) -> list[dict[str, Any]]:
    return [{"value": value, "marketplace_id": config.marketplace_id}]


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def offer(price: Decimal, config: AmazonSettings) -> list[dict[str, Any]]:
    """`purchasable_offer`: what the buyer pays (our_price), for every audience, in the marketplace's currency.
    The store's list price ("de") is not sent: Amazon shows its own reference price."""
    return [
        {
            "marketplace_id": config.marketplace_id,
            "currency": config.currency,
            "audience": "ALL",
            "our_price": [{"schedule": [{"value_with_tax": _number(price)}]}],
        }
    ]


def availability(quantity: int, handling_days: int | None, config: AmazonSettings) -> list[dict[str, Any]]:
    """`fulfillment_availability` of the seller's own channel (DEFAULT): the quantity, and the lead time when known."""
    entry: dict[str, Any] = {"fulfillment_channel_code": config.fulfillment_channel, "quantity": max(0, quantity)}
    if handling_days is not None:
        entry["lead_time_to_ship_max_days"] = max(0, handling_days)
    return [entry]


def product_type(send: ProductSend, config: AmazonSettings) -> str:
    """The product type: the store category's mapping, else the affiliate's default (PRODUCT)."""
    return (send.marketplace_category or config.product_type).strip().upper()


def attributes(send: ProductSend, config: AmazonSettings) -> dict[str, Any]:
    """Everything a product type asks for that the store knows: name, brand, the EAN as the external id (or the
    exemption when there is none), description, bullet points from the store's attributes, images, the package's
    dimensions and weight, the condition, and the offer with its price and stock."""
    found: dict[str, Any] = {
        "item_name": _text(send.name, config),
        "condition_type": _plain(config.condition_type, config),
    }
    if send.brand:
        found["brand"] = _text(send.brand, config)
    if send.ean:
        found["externally_assigned_product_identifier"] = [
            {"type": "ean", "value": send.ean, "marketplace_id": config.marketplace_id}
        ]
    else:
        found["supplier_declared_has_product_identifier_exemption"] = _plain(True, config)
    if send.description:
        found["product_description"] = _text(send.description, config)
    bullets = [f"{name}: {value}" for name, value in sorted(send.attributes.items()) if value][:MAX_BULLETS]
    if bullets:
        found["bullet_point"] = [b for bullet in bullets for b in _text(bullet, config)]
    if send.images:
        found["main_product_image_locator"] = [
            {"media_location": send.images[0], "marketplace_id": config.marketplace_id}
        ]
        for n, url in enumerate(send.images[1 : MAX_OTHER_IMAGES + 1], start=1):
            found[f"other_product_image_locator_{n}"] = [
                {"media_location": url, "marketplace_id": config.marketplace_id}
            ]
    sides = {"length": send.length_cm, "width": send.width_cm, "height": send.height_cm}
    if all(v is not None for v in sides.values()):
        found["item_package_dimensions"] = [
            {
                **{side: {"value": _number(v), "unit": "centimeters"} for side, v in sides.items() if v is not None},
                "marketplace_id": config.marketplace_id,
            }
        ]
    if send.weight_g is not None:
        found["item_package_weight"] = [
            {"value": send.weight_g, "unit": "grams", "marketplace_id": config.marketplace_id}
        ]
    if send.price is not None:
        found["purchasable_offer"] = offer(send.price, config)
    found["fulfillment_availability"] = availability(send.quantity if send.active else 0, None, config)
    return found


def put_body(send: ProductSend, config: AmazonSettings) -> dict[str, Any]:
    """putListingsItem's body: product facts and sales terms together (requirements LISTING)."""
    return {
        "productType": product_type(send, config),
        "requirements": "LISTING",
        "attributes": attributes(send, config),
    }


def price_patch(price: Decimal, config: AmazonSettings) -> dict[str, Any]:
    return {"op": "replace", "path": "/attributes/purchasable_offer", "value": offer(price, config)}


def stock_patch(quantity: int, handling_days: int | None, config: AmazonSettings) -> dict[str, Any]:
    return {
        "op": "merge",
        "path": "/attributes/fulfillment_availability",
        "value": availability(quantity, handling_days, config),
    }
