"""How the emulated operator judges an import when its time comes: each line applied or refused with a message in
Mirakl's words, and the report it gives back (the file as sent, each refused line with why).

Offer lines need a product the operator knows (by EAN, or the shop's own product by SKU: "The product does not
exist" is the spec's own example, OF03), a price above zero, a discount below the price, a known state (OF61) and a
quantity of zero or more. Product lines need a known category, a title, a valid EAN when they give one, the
category's required attributes, and the operator's review when it asks for one. Before that, a product line may
fail the operator's transformation of the file (set with _admin/config "untransformable"): it is never integrated and
is reported in P47's transformation error report, not in P44's.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from ponte.connectors.mirakl.emulation.state import OFFER_STATES, Import, Operator, Shop
from ponte.connectors.mirakl.emulation.structure import value_problem
from ponte.domain.checks import gtin_is_valid

OFFER_KEYS = {  # OF24 field → OF01 column
    "shop_sku": "sku",
    "product_id": "product-id",
    "product_id_type": "product-id-type",
    "price": "price",
    "quantity": "quantity",
    "state_code": "state",
    "leadtime_to_ship": "leadtime-to-ship",
    "logistic_class": "logistic-class",
    "update_delete": "update-delete",
    "description": "description",
}


def offer_rows(offers: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """OF24's JSON offers as the rows of an offer file, so that both are judged and reported alike."""
    rows = []
    for offer in offers:
        row = {column: _text(offer.get(key)) for key, column in OFFER_KEYS.items() if offer.get(key) is not None}
        discount = offer.get("discount") or {}
        if discount.get("price") is not None:
            row["discount-price"] = _text(discount["price"])
        rows.append(row)
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    return list(header), rows


def read_csv(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = data.decode("utf-8-sig", "replace")
    if not text.strip():
        return [], []
    first = text.splitlines()[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if ";" in first else ",")
    header = [column.strip().lower() for column in next(reader, [])]
    rows = [dict(zip(header, (value.strip() for value in row), strict=False)) for row in reader if any(row)]
    return header, rows


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _number(text: str | None) -> float | None:
    try:
        return float((text or "").replace(",", "."))
    except ValueError:
        return None


def offer_problem(operator: Operator, shop: Shop, row: dict[str, str]) -> str | None:
    sku = row.get("sku", "")
    if not sku:
        return "The offer SKU (shop_sku) is mandatory"
    if sku in operator.refuse:
        return operator.refuse[sku]
    if row.get("update-delete") == "delete":
        return None if sku in shop.offers else "The offer to delete does not exist"
    if not operator.product_known(shop, row.get("product-id-type", ""), row.get("product-id", "")):
        return "The product does not exist"
    price, discount = _number(row.get("price")), _number(row.get("discount-price"))
    if price is None or price <= 0:
        return "The price of the offer must be greater than 0"
    if discount is not None and not 0 < discount < price:
        return "The discount price must be lower than the price and greater than 0"
    quantity = _number(row.get("quantity") or "0")
    if quantity is None or quantity < 0 or quantity != int(quantity):
        return "The quantity must be a positive integer or 0"
    if row.get("state") not in OFFER_STATES:
        return f"The offer state '{row.get('state', '')}' is unknown"
    return None


def product_problem(operator: Operator, row: dict[str, str]) -> str | None:
    sku, category = row.get("sku", ""), row.get("category", "")
    if not sku:
        return "The attribute 'sku' is mandatory"
    if sku in operator.refuse:
        return operator.refuse[sku]
    if category not in operator.categories:
        return f"The category '{category}' is unknown"
    if not row.get("title"):
        return "The attribute 'title' is mandatory"
    if row.get("product-id-type") == "EAN" and not gtin_is_valid(row.get("product-id", "")):
        return f"The EAN '{row.get('product-id', '')}' is not valid"
    missing = [name for name in operator.categories[category] if not row.get(name.lower())]
    if missing:
        return f"The attribute '{missing[0]}' is mandatory for category '{category}'"
    if refused := value_problem(operator, category, row):
        return refused
    if sku in operator.review:
        return "The product is waiting for the operator's validation"
    return None


def judge(operator: Operator, imp: Import) -> None:
    """Apply an import whose time has come: its valid lines take effect, the others are kept with why."""
    shop = operator.shops[imp.shop_id]
    if "sku" not in imp.header:
        imp.status, imp.reason = (
            ("FAILED" if imp.api != "P41" else "TRANSFORMATION_FAILED"),
            "The column 'sku' is missing",
        )
        return
    for index, row in enumerate(imp.rows):
        if imp.api == "P41" and row.get("sku") in operator.untransformable:
            imp.transform_errors[index] = operator.untransformable[row["sku"]]
            continue
        problem = product_problem(operator, row) if imp.api == "P41" else offer_problem(operator, shop, row)
        if problem:
            imp.errors[index] = problem
        elif imp.api == "P41":
            _integrate(operator, shop, row, imp)
        else:
            _apply(operator, shop, row, imp)
    imp.status = "COMPLETE"


def _integrate(operator: Operator, shop: Shop, row: dict[str, str], imp: Import) -> None:
    if row["sku"] in shop.products:
        imp.updated += 1
    else:
        imp.inserted += 1
    shop.products[row["sku"]] = dict(row)
    if row.get("product-id") and row.get("product-id-type") not in (None, "", "SHOP_SKU"):
        operator.catalog[(row["product-id-type"], row["product-id"])] = dict(row)


def _apply(operator: Operator, shop: Shop, row: dict[str, str], imp: Import) -> None:
    sku = row["sku"]
    if row.get("update-delete") == "delete":
        shop.offers.pop(sku, None)
        imp.deleted += 1
        return
    imp.updated += sku in shop.offers
    imp.inserted += sku not in shop.offers
    discount = _number(row.get("discount-price"))
    shop.offers[sku] = {
        "shop_sku": sku,
        "product_id": row.get("product-id"),
        "product_id_type": row.get("product-id-type"),
        "price": _number(row.get("price")),
        "discount_price": discount,
        "quantity": int(_number(row.get("quantity") or "0") or 0),
        "state_code": row.get("state"),
        "leadtime_to_ship": int(_number(row.get("leadtime-to-ship")) or 0) if row.get("leadtime-to-ship") else None,
        "logistic_class": row.get("logistic-class") or None,
        "import_id": imp.id,
    }
    shop.applied[sku] = operator.now()
    shop.deleted.pop(sku, None)


def report(imp: Import, *, transformation: bool = False) -> bytes:
    """The refused lines as the file was sent, with why: OF03's "error-line"/"error-message" (spec OF03
    example), P44's and P47's "errors" (the operator's format); P47 (`transformation`) holds the lines the
    transformation refused, P44 those it passed and the operator did not integrate."""
    extra = ["errors"] if imp.api == "P41" else ["error-line", "error-message"]
    errors = imp.transform_errors if transformation else imp.errors
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([*imp.header, *extra])
    for index, message in sorted(errors.items()):
        row = [imp.rows[index].get(column, "") for column in imp.header]
        writer.writerow([*row, message] if imp.api == "P41" else [*row, str(index + 2), message])
    return out.getvalue().encode("utf-8")
