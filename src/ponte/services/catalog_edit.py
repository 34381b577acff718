"""The SKU page's catalog editor (issue 21): every field the flows send, checked as it is typed, saved with who and
why in the audit log, and only the integrations the change concerns marked pending (a new price is a price send,
not a product send to every marketplace)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from ponte.domain import Flow
from ponte.domain.messages import say
from ponte.engine.queue import mark_catalog_changed
from ponte.services.catalog import SkuInput, get_sku, save_skus
from ponte.services.errors import InputError
from ponte.store.audit import record
from ponte.store.catalog import stock_quantities

# Which flow sends each field: a change to one marks that flow's integrations pending, and only them.
PRODUCT_FIELDS = ("name", "description", "brand", "category", "ean", "attributes", "images", "weight_g",
                  "height_cm", "width_cm", "length_cm")  # fmt: skip
PRICE_FIELDS = ("price", "list_price")
STOCK_FIELDS = ("stock", "handling_days")
FIELDS = (*PRODUCT_FIELDS, *PRICE_FIELDS, *STOCK_FIELDS, "active")


# What can be wrong with a field, as codes the pages translate (sku.err.<code>), with the API's English words.
PROBLEMS = {
    "required": "required",
    "number": "not a number",
    "range": "out of the accepted range",
    "too_long": "too long",
    "ean": "not a valid EAN/GTIN (8, 12, 13 or 14 digits with a correct check digit)",
    "image_url": "an image must be an http(s) URL",
    "price_above_list": "the price cannot be above the list price",
    "weight": "the weight must be above zero",
    "invalid": "not valid",
}
_TYPES = {
    "missing": "required",
    "string_too_short": "required",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "greater_than_equal": "range",
    "less_than_equal": "range",
    "decimal_max_digits": "range",
    "decimal_max_places": "range",
    "decimal_parsing": "number",
    "int_parsing": "number",
    "int_from_float": "number",
    "decimal_type": "number",
}


@dataclass
class Checked:
    """A form read and checked: the SKU to save, or each field's problem (field → a PROBLEMS code)."""

    item: SkuInput | None
    errors: dict[str, str] = field(default_factory=dict)


def current(conn: Connection, *, account_id: int, sku: str) -> dict[str, Any]:
    """The SKU's catalog data as the editor shows it (NotFound when it is not in the catalog)."""
    row = get_sku(conn, account_id=account_id, sku=sku)
    values = {name: getattr(row, name) for name in FIELDS if name != "stock"}
    values["attributes"] = dict(row.attributes or {})
    values["images"] = list(row.images or [])
    values["stock"] = stock_quantities(conn, sku_id=row.id)
    return values


def check(sku: str, values: Mapping[str, Any]) -> Checked:
    """Validate the editor's values (as `SkuInput` does for the API, and a weight above zero): every problem at once,
    by field, so that the page can show each beside its field as it is typed."""
    errors: dict[str, str] = {}
    data = {"sku": sku, **{k: (None if v == "" else v) for k, v in values.items() if k in FIELDS}}
    try:
        item: SkuInput | None = SkuInput.model_validate(data)
    except ValidationError as exc:
        for problem in exc.errors():
            loc = [str(p) for p in problem["loc"]]
            errors.setdefault(loc[0] if loc else "price", _code(loc, problem["type"]))
        item = None
    price, list_price = _number(data.get("price")), _number(data.get("list_price"))
    if price is not None and list_price is not None and price > list_price:  # checked even beside other problems
        errors.setdefault("price", "price_above_list")
    weight = data.get("weight_g")
    if "weight_g" not in errors and (_number(weight) or 0) <= 0 and weight is not None:
        errors["weight_g"] = "weight"
    return Checked(None if errors else item, errors)


def _number(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return None


def _code(loc: list[str], kind: str) -> str:
    if not loc:
        return "price_above_list"  # the only check of the whole model
    if kind == "value_error":
        return {"ean": "ean", "images": "image_url"}.get(loc[0], "invalid")
    return _TYPES.get(kind, "invalid")


@dataclass(frozen=True)
class Saved:
    changed: tuple[str, ...]  # the fields that changed
    flows: tuple[str, ...]  # the flows marked pending
    pending: int  # integrations marked pending


def save(conn: Connection, *, account_id: int, sku: str, values: Mapping[str, Any], actor: str, reason: str) -> Saved:
    """Save the editor's values. InputError (nothing written) when a value is wrong or no reason is given."""
    reason = reason.strip()
    if not reason:
        raise InputError(say("sku.err.reason"), field="reason")
    checked = check(sku, values)
    if checked.item is None:
        name, code = next(iter(checked.errors.items()))
        raise InputError(say("msg.sku.field_problem", field=name, problem=say(f"sku.err.{code}")), field=name)
    before = current(conn, account_id=account_id, sku=sku)
    after = checked.item.model_dump()
    changed = tuple(name for name in FIELDS if differs(before.get(name), after.get(name)))
    if not changed:
        return Saved((), (), 0)
    flows = flows_of(changed)
    save_skus(conn, account_id=account_id, items=[checked.item], actor=actor, flows=())
    pending = mark_catalog_changed(conn, account_id, {flow: [sku] for flow in flows}, actor)
    record(
        conn, account_id=account_id, actor=actor, action="sku.edit",
        detail={"sku": sku, "reason": reason[:500], "changes": {n: [_short(before.get(n)), _short(after.get(n))]
                                                                for n in changed}},
    )  # fmt: skip
    return Saved(changed, tuple(f.value for f in flows), pending)


def flows_of(changed: tuple[str, ...]) -> set[Flow]:
    """The flows that send these fields."""
    if "active" in changed:  # paused or back: the listing, its price and its stock
        return {Flow.PRODUCT, Flow.PRICE, Flow.INVENTORY}
    flows = set()
    if set(changed) & set(PRODUCT_FIELDS):
        flows.add(Flow.PRODUCT)
    if set(changed) & set(PRICE_FIELDS):
        flows.add(Flow.PRICE)
    if set(changed) & set(STOCK_FIELDS):
        flows.add(Flow.INVENTORY)
    return flows


def differs(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return bool(old) != bool(new)
    if isinstance(old, Decimal | int | float) or isinstance(new, Decimal | int | float):
        if old is None or new is None:
            return old is not new
        return Decimal(str(old)) != Decimal(str(new))
    return (old or None) != (new or None)


def _short(value: Any) -> Any:
    text = value if isinstance(value, dict | list | int | bool) or value is None else str(value)
    return text[:200] if isinstance(text, str) else text
