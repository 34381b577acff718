"""The sandbox's catalog rules: category tree, required attributes, GTIN and NF-e check digits, image rules.

Pure functions, no state: the app turns a `Problem` into the profile's own wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Category:
    """A node of the category tree. Only leaves (nodes without children) accept listings."""

    number: str
    name: str
    parent: str | None = None
    required: tuple[str, ...] = ()
    gtin_required: bool = False
    min_price: float = 1.0
    max_price: float = 100_000.0
    review: bool = False  # new listings here go "under review" before they are active


CATEGORIES: dict[str, Category] = {
    c.number: c
    for c in (
        Category("1000", "Eletrônicos, Áudio e Vídeo"),
        Category("1055", "Celulares e Smartphones", "1000", ("BRAND", "MODEL"), True, 50.0, 20_000.0),
        Category("1002", "Televisores", "1000", ("BRAND", "MODEL", "VOLTAGE"), True, 300.0, 50_000.0),
        Category("1648", "Informática"),
        Category("1652", "Notebooks", "1648", ("BRAND", "MODEL"), True, 500.0, 60_000.0),
        Category("1500", "Casa, Móveis e Decoração"),
        Category("1574", "Cama, Mesa e Banho", "1500", ("BRAND", "COLOR"), False, 5.0, 5_000.0),
        Category("1580", "Eletroportáteis", "1500", ("BRAND", "VOLTAGE"), False, 20.0, 8_000.0),
        Category("1276", "Esportes e Fitness"),
        Category("1292", "Suplementos", "1276", ("BRAND",), False, 10.0, 2_000.0, review=True),
        Category("1430", "Calçados, Roupas e Bolsas"),
        Category("3697", "Camisetas", "1430", ("BRAND", "COLOR", "SIZE"), False, 10.0, 3_000.0),
    )
}
_PARENTS = {c.parent for c in CATEGORIES.values() if c.parent}

# Portuguese and lower-case attribute names a seller's catalog may use for the marketplace's attribute ids.
ATTRIBUTE_ALIASES = {"MARCA": "BRAND", "MODELO": "MODEL", "COR": "COLOR", "VOLTAGEM": "VOLTAGE", "TAMANHO": "SIZE"}
ALLOWED_VALUES = {"VOLTAGE": ("110V", "127V", "220V", "BIVOLT")}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


@dataclass
class Problem:
    """Why a request is refused (or remarked on): a vocabulary kind and the facts its message names."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    status: int = 400


def is_leaf(category: Category) -> bool:
    return category.number not in _PARENTS


def find_category(category_id: Any, prefix: str) -> Category | None:
    """The category an id names on a profile: its own prefix plus the number (`MLB1055`), or the bare number."""
    text = str(category_id or "").strip().upper()
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :]
    return CATEGORIES.get(text)


def check_digit_mod10(digits: str) -> int:
    """The GS1 check digit of the digits before it: weights 3,1,3… from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def gtin_is_valid(code: Any) -> bool:
    """True for a GTIN-8/12/13/14 made of digits whose last digit is the right mod-10 check digit."""
    text = str(code or "").strip()
    if not text.isdigit() or len(text) not in (8, 12, 13, 14):
        return False
    return check_digit_mod10(text[:-1]) == int(text[-1])


def nfe_check_digit(first43: str) -> int:
    """The NF-e access key check digit: mod 11, weights 2..9 cycling from the right; remainder 0 or 1 gives 0."""
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(first43)))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def nfe_key_is_valid(key: Any) -> bool:
    """True for a 44-digit NF-e access key whose last digit checks."""
    text = str(key or "").strip()
    return len(text) == 44 and text.isdigit() and nfe_check_digit(text[:43]) == int(text[43])


def image_url_is_acceptable(url: Any) -> bool:
    """An http(s) URL of a jpg, png or webp file."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.path.lower().endswith(IMAGE_EXTENSIONS)


def normalised_attributes(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The product's attributes keyed by the marketplace's attribute ids; the brand field counts as BRAND."""
    found: dict[str, Any] = {}
    raw = payload.get("attributes") or {}
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            key = str(name).strip().upper()
            if value not in (None, ""):
                found[ATTRIBUTE_ALIASES.get(key, key)] = value
    if payload.get("brand"):
        found.setdefault("BRAND", payload["brand"])
    return found


def check_product(
    payload: Mapping[str, Any],
    *,
    prefix: str,
    max_images: int,
    restricted_brands: Iterable[str] = (),
) -> Problem | None:
    """The first rule a product breaks, in the order a marketplace checks them; None when it may be listed."""
    category = find_category(payload.get("category"), prefix)
    shown = f"{prefix}{category.number}" if category else str(payload.get("category") or "")
    if category is None or not is_leaf(category):
        return Problem("invalid_category", {"category": shown})
    attributes = normalised_attributes(payload)
    missing = [name for name in category.required if name not in attributes]
    if missing:
        return Problem("missing_attributes", {"attrs": ", ".join(missing), "category": shown})
    for name, allowed in ALLOWED_VALUES.items():
        if name in attributes and str(attributes[name]).upper() not in allowed:
            value = attributes[name]
            return Problem("invalid_attribute_value", {"attr": name, "value": value, "allowed": ", ".join(allowed)})
    if not str(payload.get("description") or "").strip():
        return Problem("missing_description", {"category": shown})
    weight = payload.get("weight_g")
    if not isinstance(weight, int | float) or weight < 1:
        return Problem("missing_weight", {"category": shown})
    return (
        _check_gtin(payload, category, shown)
        or _check_images(payload, max_images, shown)
        or _check_brand(attributes, restricted_brands)
    )


def _check_gtin(payload: Mapping[str, Any], category: Category, shown: str) -> Problem | None:
    ean = payload.get("ean")
    if ean in (None, ""):
        return Problem("gtin_required", {"category": shown}) if category.gtin_required else None
    if not gtin_is_valid(ean):
        return Problem("gtin_invalid", {"ean": ean})
    return None


def _check_images(payload: Mapping[str, Any], max_images: int, shown: str) -> Problem | None:
    images = payload.get("images") or []
    if not isinstance(images, list) or not images:
        return Problem("images_missing", {"category": shown})
    if len(images) > max_images:
        return Problem("images_too_many", {"category": shown, "max": max_images})
    for url in images:
        if not image_url_is_acceptable(url):
            return Problem("image_bad", {"url": url})
    return None


def _check_brand(attributes: Mapping[str, Any], restricted_brands: Iterable[str]) -> Problem | None:
    brand = str(attributes.get("BRAND") or "")
    if brand.casefold() in {b.casefold() for b in restricted_brands}:
        return Problem("brand_restricted", {"brand": brand}, status=403)
    return None


def check_price(list_price: float, price: float, category: Category | None, max_discount: float) -> Problem | None:
    """Why a price is refused: not positive, above the list price, outside the category's range, or too deep a cut."""
    if price <= 0 or list_price <= 0 or price > list_price:
        return Problem("price_invalid", {"price": price, "list_price": list_price})
    if category and not category.min_price <= price <= category.max_price:
        return Problem("price_range", {"min": category.min_price, "max": category.max_price, "price": price})
    if price < list_price * (1 - max_discount):
        cap = round(max_discount * 100)
        return Problem("price_discount", {"price": price, "list_price": list_price, "max_discount": cap})
    return None


def category_tree(prefix: str) -> list[dict[str, Any]]:
    """The tree as a profile shows it, for a seller (or the demo) to pick leaf ids from."""
    return [
        {
            "id": f"{prefix}{c.number}",
            "name": c.name,
            "parent_id": f"{prefix}{c.parent}" if c.parent else None,
            "leaf": is_leaf(c),
            "required_attributes": list(c.required),
            "gtin_required": c.gtin_required,
            "price_range": [c.min_price, c.max_price],
            "review": c.review,
        }
        for c in CATEGORIES.values()
    ]
