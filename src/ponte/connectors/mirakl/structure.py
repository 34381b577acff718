"""The operator's catalog structure read for the category and attribute mapping (issue 21), by the seller API's own
calls (spec: "Maximum usage: Every hour" for each, declared as the connector's rates):

- H11 `GET /api/hierarchies`: `hierarchies[{code, label, level, parent_code}]`;
- PM11 `GET /api/products/attributes`: `attributes[{code, label, hierarchy_code, requirement_level, type,
  values_list}]`, every hierarchy's in one call (an attribute with no hierarchy_code belongs to all);
- VL11 `GET /api/values_lists`: `values_lists[{code, values[{code, label}]}]`, the values a LIST attribute takes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ponte.connectors.base import AttributeValue, CallFailed, MarketplaceAttribute, MarketplaceCategory
from ponte.domain.messages import say

if TYPE_CHECKING:
    from ponte.connectors.mirakl.connector import MiraklConnector


def _read(connector: MiraklConnector, operation: str, path: str, key: str) -> list[dict[str, Any]]:
    connector.context.limits.acquire(operation)
    result = connector.call("GET", path)
    if not result.ok or not isinstance(result.body, dict):
        raise CallFailed(connector.failed(result, say("msg.op.read_structure", api=operation), operation))
    return [item for item in result.body.get(key) or [] if isinstance(item, dict)]


def tree(connector: MiraklConnector) -> list[MarketplaceCategory]:
    """H11's hierarchies; a leaf is one no other names as its parent."""
    nodes = _read(connector, "H11", "/api/hierarchies", "hierarchies")
    by_code = {str(n["code"]): n for n in nodes if n.get("code")}
    parents = {str(n.get("parent_code")) for n in nodes if n.get("parent_code")}
    found = []
    for code, node in by_code.items():
        path: list[str] = []
        at: dict[str, Any] | None = node
        while at is not None and len(path) < 20:
            path.insert(0, str(at.get("label") or at.get("code")))
            at = by_code.get(str(at.get("parent_code") or ""))
        parent = str(node["parent_code"]) if node.get("parent_code") else None
        found.append(
            MarketplaceCategory(code, str(node.get("label") or code), parent, code not in parents, tuple(path))
        )
    return found


def attributes(connector: MiraklConnector, category_ids: list[str]) -> dict[str, list[MarketplaceAttribute]]:
    """PM11 and VL11 once, then each category's: its own attributes and those of every hierarchy."""
    listed = _read(connector, "PM11", "/api/products/attributes", "attributes")
    lists = {
        str(v.get("code")): tuple(
            AttributeValue(str(x.get("code")), str(x.get("label") or x.get("code")))
            for x in v.get("values") or []
            if isinstance(x, dict) and x.get("code")
        )
        for v in (_read(connector, "VL11", "/api/values_lists", "values_lists") if _any_list(listed) else [])
    }
    found: dict[str, list[MarketplaceAttribute]] = {}
    for category_id in category_ids:
        mine = [a for a in listed if a.get("code") and str(a.get("hierarchy_code") or "") in ("", category_id)]
        found[category_id] = [
            MarketplaceAttribute(
                id=str(a["code"]),
                name=str(a.get("label") or a["code"]),
                required=a.get("requirement_level") == "REQUIRED" or a.get("required") is True,
                values=lists.get(str(a.get("values_list") or a.get("type_parameter") or ""), ())
                if a.get("type") == "LIST"
                else (),
            )
            for a in mine
        ]
    return found


def _any_list(listed: list[dict[str, Any]]) -> bool:
    return any(a.get("type") == "LIST" for a in listed)
