"""The catalog mapping applied to a product send, and the checks made before sending it (issue 21).

A product goes to a marketplace in the category its SKU is mapped to (the SKU's own mapping, else its store
category's, else what the connector makes of the store category), with the marketplace attributes the mapping fills
(from a store attribute, through a value map, or a fixed value; numbers converted to the attribute's unit).

Before a send, what is knowable locally is checked against the marketplace's tree and attribute lists as cached
(`marketplace_taxonomy`): a category that is not a leaf, a required attribute missing, a value not allowed, a title
too long, too few or too many pictures, a bad EAN. Such a product would certainly be refused: it is not sent, and the
attempt is Ponte's own error, in the same category the marketplace's refusal would have had.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ponte.connectors.base import Connector, ListingRules, Outcome, ProductSend
from ponte.domain import Disposition
from ponte.domain.checks import gtin_is_valid
from ponte.domain.messages import Message, say
from ponte.store.mappings import AttributeMapping, CategoryMapping

CHECK_CODE = "ponte.check"  # the code of every attempt a check before sending stopped (ponte.check.<what>)
# Store fields an attribute mapping may read besides the store's attributes, with the unit their numbers are in.
FIELDS: dict[str, str | None] = {
    "brand": None,
    "ean": None,
    "name": None,
    "weight_g": "g",
    "height_cm": "cm",
    "width_cm": "cm",
    "length_cm": "cm",
}
UNITS = {"g": ("mass", Decimal(1)), "kg": ("mass", Decimal(1000)), "mm": ("length", Decimal("0.1")),
         "cm": ("length", Decimal(1)), "m": ("length", Decimal(100))}  # fmt: skip
_MEASURE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class TaxonomyNode:
    name: str
    leaf: bool


@dataclass(frozen=True)
class Requirement:
    """One marketplace attribute as the checks read it."""

    id: str
    name: str
    required: bool
    values: tuple[str, ...]  # allowed value names; empty: any
    unit: str | None


@dataclass
class AffiliateMapping:
    """One affiliate's mapping and its marketplace's cached structure, as a batch of sends reads them."""

    categories: dict[str, CategoryMapping] = field(default_factory=dict)  # store category → mapping
    skus: dict[str, CategoryMapping] = field(default_factory=dict)  # SKU code → its own mapping
    attributes: dict[str, list[AttributeMapping]] = field(default_factory=dict)  # marketplace category → fills
    tree: dict[str, TaxonomyNode] | None = None  # None: never fetched (nothing to check a category against)
    requirements: dict[str, list[Requirement]] = field(default_factory=dict)  # marketplace category → attributes


def tree_from_cache(data: Any) -> dict[str, TaxonomyNode]:
    return {str(n["id"]): TaxonomyNode(str(n.get("name") or n["id"]), bool(n.get("leaf"))) for n in data or []}


def requirements_from_cache(data: Any) -> list[Requirement]:
    return [
        Requirement(
            str(a["id"]),
            str(a.get("name") or a["id"]),
            bool(a.get("required")),
            tuple(str(v[1]) for v in a.get("values") or []),
            a.get("unit"),
        )
        for a in data or []
    ]


def target_category(
    sku: str, category: str | None, mapping: AffiliateMapping, cls: type[Connector], settings: Mapping[str, Any]
) -> str | None:
    """The marketplace category a SKU goes in: its own mapping, its store category's, or the connector's reading."""
    own = mapping.skus.get(sku)
    if own is not None:
        return own.target
    if not category:
        return None
    mapped = mapping.categories.get(category)
    return mapped.target if mapped is not None else cls.default_category(category, settings)


def apply(
    send: ProductSend, mapping: AffiliateMapping, cls: type[Connector], settings: Mapping[str, Any]
) -> ProductSend:
    """The send with its marketplace category and the attributes its mapping fills (by the marketplace's ids)."""
    target = target_category(send.sku, send.category, mapping, cls, settings)
    units = {r.id: r.unit for r in mapping.requirements.get(target or "", [])}
    filled: dict[str, str] = {}
    for rule in mapping.attributes.get(target or "", []):
        value = fill(send, rule, units.get(rule.attribute))
        if value:
            filled[rule.attribute] = value
    return replace(send, marketplace_category=target, attributes={**send.attributes, **filled})


def fill(send: ProductSend, rule: AttributeMapping, unit: str | None) -> str | None:
    """The value one attribute mapping gives this product, or None when the store has nothing for it."""
    if rule.source == "fixed":
        return rule.value or None
    name = rule.store_attribute or ""
    if name in FIELDS:
        raw = getattr(send, name)
        text = None if raw is None else str(raw)
        from_unit = FIELDS[name]
    else:
        text = _store_attribute(send.attributes, name)
        from_unit = None
    if text is None or text == "":
        return None
    mapped = _value_map(rule.value_map, text)
    if mapped is not None:
        return mapped
    return convert(text, from_unit, unit) if unit else text


def _store_attribute(attributes: Mapping[str, str], name: str) -> str | None:
    if name in attributes:
        return attributes[name]
    folded = {k.casefold(): v for k, v in attributes.items()}
    return folded.get(name.casefold())


def _value_map(value_map: Mapping[str, str], text: str) -> str | None:
    if text in value_map:
        return value_map[text]
    folded = {k.strip().casefold(): v for k, v in value_map.items()}
    return folded.get(text.strip().casefold())


def convert(text: str, from_unit: str | None, to_unit: str) -> str:
    """A measure in the attribute's unit: "0,5 kg" → "500 g"; a bare number is in `from_unit` (the store field's),
    else already in `to_unit`. Text that is not a measure, or units of another kind, stay as they are."""
    found = _MEASURE.match(text)
    if not found or to_unit not in UNITS:
        return text
    try:
        number = Decimal(found.group(1).replace(",", "."))
    except InvalidOperation:
        return text
    given = (found.group(2) or from_unit or to_unit).lower()
    if given not in UNITS or UNITS[given][0] != UNITS[to_unit][0]:
        return text
    value = number * UNITS[given][1] / UNITS[to_unit][1]
    return f"{format(value.normalize(), 'f')} {to_unit}"


def check(send: ProductSend, mapping: AffiliateMapping, rules: ListingRules, sent: Mapping[str, str]) -> Outcome | None:
    """Why the marketplace would certainly refuse this product, from what Ponte knows locally; None: send it.
    `send` is the mapped send, `sent` the attributes its connector would send (`Connector.sent_attributes`)."""
    return (
        _check_category(send, mapping)
        or _check_attributes(send, mapping, sent)
        or _check_listing(send, rules)
        or (
            _stop("gtin", "invalid_gtin", say("msg.check.ean_invalid", ean=send.ean))
            if send.ean and not gtin_is_valid(send.ean)
            else None
        )
    )


def _stop(what: str, category: str, reason: Message) -> Outcome:
    return Outcome.error(
        say("msg.check.not_sent", reason=reason), code=f"{CHECK_CODE}.{what}", category=category,
        disposition=Disposition.FIX,
    )  # fmt: skip


def _check_category(send: ProductSend, mapping: AffiliateMapping) -> Outcome | None:
    target = send.marketplace_category
    if mapping.tree is None:
        return None
    if not target:
        return _stop("category", "invalid_category", say("msg.check.no_category", sku=send.sku))
    node = mapping.tree.get(target)
    store = say("msg.check.store_category", category=send.category) if send.category else ""
    if node is None:
        return _stop("category", "invalid_category", say("msg.check.category_unknown", target=target, store=store))
    if not node.leaf:
        said = say("msg.check.category_not_leaf", target=target, name=node.name, store=store)
        return _stop("category", "invalid_category", said)
    return None


def _check_attributes(send: ProductSend, mapping: AffiliateMapping, sent: Mapping[str, str]) -> Outcome | None:
    requirements = mapping.requirements.get(send.marketplace_category or "")
    if not requirements:
        return None
    folded = {k.casefold(): str(v) for k, v in sent.items() if v not in (None, "")}
    missing = [r for r in requirements if r.required and r.id.casefold() not in folded]
    if missing:
        names = ", ".join(f"{r.id} ({r.name})" for r in missing)
        said = say("msg.check.attributes_missing", category=send.marketplace_category, names=names)
        return _stop("attribute", "missing_attribute", said)
    for r in requirements:
        value = folded.get(r.id.casefold())
        if value and r.values and value.casefold() not in {v.casefold() for v in r.values}:
            allowed = ", ".join(r.values[:20])
            said = say("msg.check.value_not_allowed", attribute=r.id, value=value, allowed=allowed)
            return _stop("value", "invalid_attribute_value", said)
    return None


def _check_listing(send: ProductSend, rules: ListingRules) -> Outcome | None:
    if rules.title_max is not None and len(send.name) > rules.title_max:
        said = say("msg.check.title_long", length=len(send.name), maximum=rules.title_max)
        return _stop("title", "invalid_attribute_value", said)
    if len(send.images) < rules.pictures_min:
        said = say("msg.check.pictures_few", count=len(send.images), minimum=rules.pictures_min)
        return _stop("images", "image_problem", said)
    if rules.pictures_max is not None and len(send.images) > rules.pictures_max:
        said = say("msg.check.pictures_many", count=len(send.images), maximum=rules.pictures_max)
        return _stop("images", "image_problem", said)
    if rules.picture_extensions:
        for url in send.images:
            if not url.lower().split("?")[0].endswith(rules.picture_extensions):
                types = "/".join(e.lstrip(".") for e in rules.picture_extensions)
                said = say("msg.check.picture_type", url=url[:200], types=types)
                return _stop("images", "image_problem", said)
    return None
