"""Mercado Livre's category tree, its category predictor and each category's attributes, read for the category and
attribute mapping (issue 21) through the documented endpoints (mercadolivre.md § 2):

- `GET /sites/{site}/categories` the roots, then `GET /categories/{id}` each node's `children_categories` and
  `settings.listing_allowed` (a leaf takes listings);
- `GET /sites/{site}/domain_discovery/search?q=<title>&limit=` the predictor: `category_id`, `category_name`;
- `GET /categories/{id}/attributes`: `id`, `name`, `tags.required`, `values[{id, name}]`, `value_max_length`,
  `default_unit` for `number_unit` attributes (developers.mercadolivre.com.br/pt_br/atributos).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ponte.connectors.base import AttributeValue, CallFailed, MarketplaceAttribute, MarketplaceCategory

if TYPE_CHECKING:
    from ponte.connectors.mercadolivre.api import MeliApi

# The walk reads one node a call. Mercado Livre's Brazilian tree has thousands of nodes; a store maps into a few
# branches, so the walk stops here rather than spend the app's shared rate on the whole tree at once.
MAX_NODES = 3000


def _get(api: MeliApi, path: str, params: dict[str, Any] | None = None) -> Any:
    from ponte.connectors.mercadolivre.api import error_outcome

    result = api.call("api", "GET", path, params=params)
    if not result.ok:
        raise CallFailed(error_outcome(result))
    return result.body


def tree(api: MeliApi, site_id: str) -> list[MarketplaceCategory]:
    """Every category under the site's roots, breadth first, each with its path of names."""
    roots = _get(api, f"/sites/{site_id}/categories")
    queue: deque[tuple[str, str | None, tuple[str, ...]]] = deque(
        (str(r["id"]), None, (str(r.get("name") or r["id"]),)) for r in roots if isinstance(r, dict) and r.get("id")
    )
    found: list[MarketplaceCategory] = []
    while queue and len(found) < MAX_NODES:
        category_id, parent, path = queue.popleft()
        node = _get(api, f"/categories/{quote(category_id, safe='')}")
        children = [c for c in node.get("children_categories") or [] if isinstance(c, dict) and c.get("id")]
        allowed = (node.get("settings") or {}).get("listing_allowed")
        leaf = bool(allowed) if allowed is not None else not children
        found.append(MarketplaceCategory(category_id, str(node.get("name") or path[-1]), parent, leaf, path))
        queue.extend((str(c["id"]), category_id, (*path, str(c.get("name") or c["id"]))) for c in children)
    return found


def predict(api: MeliApi, site_id: str, title: str, limit: int = 3) -> list[MarketplaceCategory]:
    """The predictor's categories for a product title, best first."""
    found = _get(api, f"/sites/{site_id}/domain_discovery/search", {"q": title[:200], "limit": limit})
    return [
        MarketplaceCategory(str(d["category_id"]), str(d.get("category_name") or d["category_id"]))
        for d in found or []
        if isinstance(d, dict) and d.get("category_id")
    ]


def attributes(api: MeliApi, category_id: str) -> list[MarketplaceAttribute]:
    listed = _get(api, f"/categories/{quote(category_id, safe='')}/attributes")
    return [_attribute(a) for a in listed or [] if isinstance(a, dict) and a.get("id")]


def _attribute(a: dict[str, Any]) -> MarketplaceAttribute:
    tags = a.get("tags") or {}
    values = tuple(
        AttributeValue(str(v.get("id") or v.get("name")), str(v["name"]))
        for v in a.get("values") or []
        if isinstance(v, dict) and v.get("name")
    )
    return MarketplaceAttribute(
        id=str(a["id"]),
        name=str(a.get("name") or a["id"]),
        required=bool(tags.get("required")),
        # A list attribute takes only its values; a string one lists suggestions (brands), not a closed list.
        values=values if a.get("value_type") == "list" else (),
        unit=a.get("default_unit"),
        max_length=a.get("value_max_length"),
    )
