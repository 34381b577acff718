"""The operator's catalog structure as its seller API gives it: H11 (the hierarchies), PM11 (each hierarchy's
attributes) and VL11 (the values lists a LIST attribute takes), in the spec's shapes.

The emulated operator's categories are `Operator.categories` (code → the attributes it requires); their labels and
parents come from the sandbox's tree (ponte.sandbox.catalog), so a parent the operator does not take products in is
a level-1 hierarchy with the leaves under it. An attribute's code is its name in lower case, the column a product
file gives it in (judge.product_problem reads it so).
"""

from __future__ import annotations

from typing import Any

from ponte.connectors.mirakl.emulation.state import Operator
from ponte.sandbox.catalog import ALLOWED_VALUES, CATEGORIES

LABELS = {"MODEL": "Modelo", "VOLTAGE": "Voltagem", "COLOR": "Cor", "SIZE": "Tamanho", "SABOR": "Sabor"}


def _translations(label: str) -> list[dict[str, str]]:
    return [{"locale": "pt_BR", "value": label}]


def hierarchies(operator: Operator) -> list[dict[str, Any]]:
    """H11: every hierarchy, parents first (level 1, then the operator's leaves at level 2)."""
    leaves = sorted(operator.categories)
    parents = sorted({p for code in leaves if (p := _parent(code))})
    found = []
    for code in parents:
        label = CATEGORIES[code].name if code in CATEGORIES else code
        # A root's parent_code is empty: the spec requires the field (H11_Response_200_Hierarchies).
        found.append(
            {"code": code, "label": label, "label_translations": _translations(label), "level": 1, "parent_code": ""}
        )
    for code in leaves:
        label = CATEGORIES[code].name if code in CATEGORIES else code
        parent = _parent(code)
        node: dict[str, Any] = {"code": code, "label": label, "label_translations": _translations(label),
                "level": 2 if parent else 1,
                "parent_code": parent or ""}  # fmt: skip
        found.append(node)
    return found


def _parent(code: str) -> str | None:
    known = CATEGORIES.get(code)
    return known.parent if known else None


def attributes(operator: Operator, hierarchy: str | None) -> list[dict[str, Any]]:
    """PM11: the attributes of `hierarchy` (every one's when not given): those its category requires, REQUIRED,
    and the brand, OPTIONAL for every hierarchy (hierarchy_code empty)."""
    codes = [hierarchy] if hierarchy else sorted(operator.categories)
    found: list[dict[str, Any]] = [_attribute("brand", "Marca", "", "OPTIONAL")]
    for code in codes:
        for name in operator.categories.get(code or "", []):
            found.append(_attribute(name.lower(), LABELS.get(name, name.title()), code or "", "REQUIRED"))
    return found


def _attribute(code: str, label: str, hierarchy: str, level: str) -> dict[str, Any]:
    listed = code.upper() in ALLOWED_VALUES
    found: dict[str, Any] = {
        "code": code,
        "label": label,
        "label_translations": _translations(label),
        "hierarchy_code": hierarchy,
        "requirement_level": level,
        "required": level == "REQUIRED",
        "description_translations": [],
        "roles": [],
        "type": "LIST" if listed else "TEXT",
        "type_parameter": code if listed else "",  # a LIST's values list (VL11); required even when empty
        "variant": False,
    }
    if listed:
        found["values_list"] = code
    return found


def values_lists(code: str | None) -> list[dict[str, Any]]:
    """VL11: the values lists (the one named `code` when given)."""
    found = []
    for name, values in ALLOWED_VALUES.items():
        if code and code != name.lower():
            continue
        found.append(
            {
                "code": name.lower(),
                "label": LABELS.get(name, name),
                "label_translations": _translations(LABELS.get(name, name)),
                "values": [{"code": v, "label": v, "label_translations": _translations(v)} for v in values],
            }
        )
    return found


def value_problem(operator: Operator, category: str, row: dict[str, str]) -> str | None:
    """A LIST attribute of the category given a value its values list does not have."""
    for name in operator.categories.get(category, []):
        allowed = ALLOWED_VALUES.get(name)
        value = row.get(name.lower())
        if allowed and value and value.upper() not in allowed:
            return f"The value '{value}' of the attribute '{name.lower()}' is not in the values list '{name.lower()}'"
    return None
