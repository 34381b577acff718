"""A SKU as a Mercado Livre listing: the body of `POST /items`, and what changed since Ponte last sent it.

Fields follow the official validator's example and the attribute notes (mercadolivre.md § 2): `title`,
`category_id`, `price`, `currency_id`, `available_quantity`, `buying_mode`, `listing_type_id`, `condition`,
`pictures[{source}]`, `attributes[{id, value_name}]` (BRAND, GTIN, SELLER_SKU), `shipping{mode, local_pick_up}`;
the description goes apart (`POST /items/{id}/description {"plain_text"}`). Package dimensions travel as the
SELLER_PACKAGE_* attributes in centimetres and grams (developers.mercadolibre.com.mx/es_mx/
items-atributos-de-envio-y-dimensiones).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

from ponte.connectors.base import ProductSend

TITLE_LIMIT = 60  # [S] mercadolivre.md § 2: longer titles are refused (item.title.length)
MAX_PICTURES = 12  # a category's settings.max_pictures_per_item (12 on MLB's categories) [S] § 2
_ATTRIBUTE_ID = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
# Store attribute names people use for what Mercado Livre calls by these ids.
KNOWN_NAMES = {
    "COR": "COLOR",
    "COLOR": "COLOR",
    "MODELO": "MODEL",
    "MODEL": "MODEL",
    "VOLTAGEM": "VOLTAGE",
    "VOLTAGE": "VOLTAGE",
    "TAMANHO": "SIZE",
    "SIZE": "SIZE",
    "MATERIAL": "MATERIAL",
}


def category_of(send: ProductSend, site_id: str) -> str | None:
    """The Mercado Livre category: the mapped one, else the store's as `site_category` reads it."""
    if send.marketplace_category:
        return send.marketplace_category
    return site_category(send.category, site_id) if send.category else None


def site_category(store_category: str, site_id: str) -> str:
    """A store category as a category of the site: as it is when it already names one (`MLB1055`), else the
    store's code under the site's prefix (a store tree that mirrors Mercado Livre's ids)."""
    category = store_category.strip()
    if category.upper().startswith(site_id):
        return category.upper()
    return f"{site_id}{category}" if category.isdigit() else category


def _number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _measure(value: Decimal | int | None, unit: str) -> str | None:
    if value is None:
        return None
    number = Decimal(str(value)).normalize()
    text = format(number, "f")
    return f"{text} {unit}"


def attributes(send: ProductSend) -> list[dict[str, str]]:
    """The listing's attributes: the store's (by Mercado Livre's id where the name is known), brand, GTIN (or the
    reason there is none), seller SKU and package dimensions."""
    found: dict[str, str] = {}
    for name, value in send.attributes.items():
        key = KNOWN_NAMES.get(name.strip().upper(), name.strip().upper())
        if _ATTRIBUTE_ID.match(key) and value:
            found[key] = str(value)
    if send.brand:
        found["BRAND"] = send.brand
    if send.ean:
        found["GTIN"] = send.ean
    found["SELLER_SKU"] = send.sku
    for key, measure in (
        ("SELLER_PACKAGE_HEIGHT", _measure(send.height_cm, "cm")),
        ("SELLER_PACKAGE_WIDTH", _measure(send.width_cm, "cm")),
        ("SELLER_PACKAGE_LENGTH", _measure(send.length_cm, "cm")),
        ("SELLER_PACKAGE_WEIGHT", _measure(send.weight_g, "g")),
    ):
        if measure is not None:
            found[key] = measure
    return [{"id": key, "value_name": value} for key, value in sorted(found.items())]


def new_item(
    send: ProductSend, *, site_id: str, currency: str, listing_type: str, condition: str, shipping_mode: str
) -> dict[str, Any]:
    """The body of `POST /items` for a SKU not listed yet."""
    body: dict[str, Any] = {
        "title": send.name,
        "category_id": category_of(send, site_id),
        "price": _number(send.price),
        "currency_id": currency,
        "available_quantity": send.quantity,
        "buying_mode": "buy_it_now",
        "listing_type_id": listing_type,
        "condition": condition,
        "pictures": [{"source": url} for url in send.images],
        "attributes": attributes(send),
        "shipping": {"mode": shipping_mode, "local_pick_up": False},
    }
    return {key: value for key, value in body.items() if value is not None}


def description_digest(text: str | None) -> str:
    return hashlib.sha1((text or "").encode()).hexdigest()[:16]


def sent_facts(body: dict[str, Any], description: str | None) -> dict[str, Any]:
    """What of a listing Ponte keeps, to send later only what changed (listings.data["sent"])."""
    return {
        "title": body.get("title"),
        "pictures": [p["source"] for p in body.get("pictures", [])],
        "attributes": {a["id"]: a["value_name"] for a in body.get("attributes", [])},
        "description": description_digest(description),
    }


def changes(send: ProductSend, sent: dict[str, Any], *, site_id: str) -> tuple[dict[str, Any], bool]:
    """(the body of `PUT /items/{id}` with only what changed, whether the description changed)."""
    wanted = new_item(send, site_id=site_id, currency="", listing_type="", condition="", shipping_mode="")
    body: dict[str, Any] = {}
    if wanted.get("title") != sent.get("title"):
        body["title"] = wanted["title"]
    pictures = [p["source"] for p in wanted.get("pictures", [])]
    if pictures != sent.get("pictures"):
        body["pictures"] = wanted.get("pictures", [])
    old = sent.get("attributes") or {}
    changed = [a for a in wanted["attributes"] if old.get(a["id"]) != a["value_name"]]
    if changed:
        body["attributes"] = changed
    return body, description_digest(send.description) != sent.get("description")
