"""How the emulated Mercado Livre judges an item: its category tree, the attributes each category asks for, and
what it answers — in Mercado Livre's error body (`message`, `error`, `status`, `cause[]` with `department`,
`cause_id`, `type`, `code`, `references`, `message`: mercadolivre.md § 3).

The tree is the sandbox's (ponte.sandbox.catalog) under the site's prefix: `MLB1055` Celulares e Smartphones…
Wordings follow messages sellers see; where the documentation gives one (the brand authorisation, the warning of a
business-conditional attribute) it is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ponte.domain.checks import gtin_is_valid
from ponte.sandbox.catalog import ALLOWED_VALUES, CATEGORIES, IMAGE_EXTENSIONS, Category, is_leaf

SITE = "MLB"
MAX_PICTURES = 12
TITLE_LIMIT = 60
PACKAGE = ("SELLER_PACKAGE_HEIGHT", "SELLER_PACKAGE_WIDTH", "SELLER_PACKAGE_LENGTH", "SELLER_PACKAGE_WEIGHT")
ATTRIBUTE_NAMES = {
    "BRAND": "Marca",
    "MODEL": "Modelo",
    "COLOR": "Cor",
    "VOLTAGE": "Voltagem",
    "SIZE": "Tamanho",
    "GTIN": "Código universal de produto",
    "SELLER_SKU": "SKU",
    "SABOR": "Sabor",
    **{name: name.replace("_", " ").title() for name in PACKAGE},
}


@dataclass
class Cause:
    code: str
    message: str
    type: str = "error"
    department: str = "items"
    cause_id: int = 0
    references: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "cause_id": self.cause_id,
            "type": self.type,
            "code": self.code,
            "references": self.references,
            "message": self.message,
        }


def error_body(status: int, message: str, error: str, causes: list[Cause] | None = None) -> dict[str, Any]:
    return {"message": message, "error": error, "status": status, "cause": [c.as_json() for c in causes or []]}


def category(category_id: Any) -> Category | None:
    text = str(category_id or "").strip().upper()
    return CATEGORIES.get(text.removeprefix(SITE)) if text.startswith(SITE) else None


def category_json(c: Category) -> dict[str, Any]:
    """`GET /categories/{id}`."""
    path: list[dict[str, str]] = []
    node: Category | None = c
    while node is not None:
        path.insert(0, {"id": f"{SITE}{node.number}", "name": node.name})
        node = CATEGORIES.get(node.parent) if node.parent else None
    children = [x for x in CATEGORIES.values() if x.parent == c.number]
    return {
        "id": f"{SITE}{c.number}",
        "name": c.name,
        "path_from_root": path,
        "children_categories": [{"id": f"{SITE}{x.number}", "name": x.name} for x in children],
        "settings": {"listing_allowed": is_leaf(c), "max_pictures_per_item": MAX_PICTURES, "status": "enabled"},
    }


def attributes_json(c: Category) -> list[dict[str, Any]]:
    """`GET /categories/{id}/attributes`: id, name, tags, value_type, values (mercadolivre.md § 2)."""
    found = []
    for name in ("BRAND", "MODEL", "COLOR", "VOLTAGE", "SIZE", "SABOR", "GTIN", "SELLER_SKU", *PACKAGE):
        tags: dict[str, bool] = {}
        if name in c.required or name in PACKAGE or (name == "GTIN" and c.gtin_required):
            tags["required"] = True  # the package's too: Mercado Envios needs it (developers.mercadolibre.com.mx FAQ)
        elif name == "GTIN":
            tags["conditional_required"] = True
        allowed = ALLOWED_VALUES.get(name)
        found.append(
            {
                "id": name,
                "name": ATTRIBUTE_NAMES.get(name, name),
                "tags": tags,
                "value_type": "list" if allowed else ("number_unit" if name in PACKAGE else "string"),
                "values": [{"id": str(9000 + n), "name": v} for n, v in enumerate(allowed or ())],
                "value_max_length": 255,
                "attribute_group_id": "MAIN" if name in ("BRAND", "MODEL") else "OTHERS",
                # number_unit attributes name the unit a bare number is read in [O] developers…/atributos
                **({"default_unit": "g" if name.endswith("WEIGHT") else "cm"} if name in PACKAGE else {}),
            }
        )
    return found


def _attributes(body: dict[str, Any]) -> dict[str, str]:
    found = {}
    for a in body.get("attributes") or []:
        if isinstance(a, dict) and a.get("id"):
            found[str(a["id"])] = str(a.get("value_name") or a.get("value_id") or "")
    return found


def judge_new_item(body: dict[str, Any], *, approved_brands: set[str]) -> tuple[list[Cause], list[Cause]]:
    """(errors, warnings) of a `POST /items` (or `/items/validate`) body, as the API answers them."""
    errors: list[Cause] = []
    warnings: list[Cause] = []
    c = category(body.get("category_id"))
    shown = str(body.get("category_id") or "")
    if c is None or not is_leaf(c):
        errors.append(
            Cause(
                "item.category_id.invalid",
                f"Category {shown} is not a leaf or does not exist for site {SITE}",
                references=["item.category_id"],
                cause_id=105,
            )
        )
        return errors, warnings
    title = str(body.get("title") or "")
    if len(title) > TITLE_LIMIT:
        errors.append(
            Cause(
                "item.title.length",
                f"title is longer than {TITLE_LIMIT} characters",
                references=["item.title"],
                cause_id=130,
            )
        )
    attributes = _attributes(body)
    required = [*c.required, *(["GTIN"] if c.gtin_required else []), *PACKAGE]
    missing = [name for name in required if not attributes.get(name)]
    if missing:
        errors.append(
            Cause(
                "item.attributes.missing_required",
                f"The attributes [{', '.join(missing)}] are required for category {shown}. Check the attribute is present "
                "in the attributes list or in all variation's attributes combination",
                department="structured-data",
                cause_id=147,
                references=["item.attributes"],
            )
        )
    for name, allowed in ALLOWED_VALUES.items():
        value = attributes.get(name)
        if value and value.upper() not in allowed:
            errors.append(
                Cause(
                    "item.attributes.invalid",
                    f"Attribute [{name}] value '{value}' is not allowed. Allowed values: {', '.join(allowed)}",
                    department="structured-data",
                    cause_id=148,
                    references=["item.attributes"],
                )
            )
    gtin = attributes.get("GTIN")
    if gtin and not gtin_is_valid(gtin):
        errors.append(
            Cause(
                "item.attributes.gtin.invalid",
                f"The GTIN {gtin} is not valid: check digit does not match",
                department="structured-data",
                cause_id=360,
                references=["item.attributes"],
            )
        )
    elif not gtin and not c.gtin_required:
        # The documentation's own warning example (mercadolivre.md § 3).
        warnings.append(
            Cause(
                "create.item.attribute.business_conditional",
                "Attribute [GTIN] to be added with values [(EMPTY_GTIN_REASON,null)]",
                type="warning",
                department="structured-data",
                cause_id=2511,
                references=["item.attributes"],
            )
        )
    errors += _pictures(body)
    brand = attributes.get("BRAND", "")
    if brand.casefold() == "apple" and brand.casefold() not in {b.casefold() for b in approved_brands}:
        errors.append(
            Cause(
                "moderations.seller.not_authorized",
                "Seller is not authorized for this brand and category",
                department="moderations",
                cause_id=3250,
                references=["item.seller_id", "item.category_id"],
            )
        )
    errors += judge_price(body.get("price"), c)
    return errors, warnings


def _pictures(body: dict[str, Any]) -> list[Cause]:
    pictures = [p.get("source") for p in body.get("pictures") or [] if isinstance(p, dict)]
    if not pictures:
        return [
            Cause("item.pictures.missing", "Items need at least 1 picture.", references=["item.pictures"], cause_id=201)
        ]
    if len(pictures) > MAX_PICTURES:
        return [
            Cause(
                "item.pictures.max",
                f"Items cannot exceed {MAX_PICTURES} pictures.",
                references=["item.pictures"],
                cause_id=202,
            )
        ]
    for url in pictures:
        if not str(url).lower().split("?")[0].endswith(IMAGE_EXTENSIONS):
            return [
                Cause(
                    "item.pictures.invalid",
                    f"Error downloading the following url: {url}. Error: Unknown / unsupported image type extension.",
                    references=["item.pictures"],
                    cause_id=203,
                )
            ]
    return []


def judge_price(price: Any, c: Category | None) -> list[Cause]:
    if not isinstance(price, int | float) or isinstance(price, bool) or price <= 0:
        return [Cause("item.price.invalid", f"Invalid price: {price}", references=["item.price"], cause_id=301)]
    if c is not None and not c.min_price <= price <= c.max_price:
        return [
            Cause(
                "item.price.invalid",
                f"The price {price} is outside the allowed range [{c.min_price}, {c.max_price}] for category {SITE}{c.number}",
                references=["item.price"],
                cause_id=302,
            )
        ]
    return []


def predict(query: str, limit: int) -> list[dict[str, Any]]:
    """`GET /sites/MLB/domain_discovery/search?q=`: the leaf categories whose name shares the most words."""
    words = {w for w in query.casefold().split() if len(w) > 2}
    scored = []
    for c in CATEGORIES.values():
        if not is_leaf(c):
            continue
        name_words = {w.casefold() for w in c.name.replace(",", " ").split()}
        hits = len(words & name_words) + sum(1 for w in words for n in name_words if len(w) > 4 and w[:5] == n[:5])
        if hits:
            scored.append((hits, c))
    scored.sort(key=lambda pair: (-pair[0], pair[1].number))
    return [
        {
            "domain_id": f"{SITE}-{c.name.upper().replace(' ', '_')[:30]}",
            "domain_name": c.name,
            "category_id": f"{SITE}{c.number}",
            "category_name": c.name,
            "attributes": [],
        }
        for _, c in scored[:limit]
    ]
