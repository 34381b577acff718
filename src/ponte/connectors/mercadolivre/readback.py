"""Reading back what Mercado Livre holds of the seller's listings (reconciliation), in its cheapest calls.

- The seller's item ids: `GET /users/{id}/items/search?search_type=scan&limit=100`, then the same call with the
  `scroll_id` it answered, until a page comes back empty ("Scan + Hash": offset stops at 1,000 items; `limit` at most
  100 — developers.mercadolibre.com/pt-br/news/nova-modalidade-para-realizar-pesquisas-com-o-recurso-search/, and
  developers.mercadolivre.com.br/pt_br/items-e-buscas § "Modo de busca acima de 1000 registros").
- The items themselves: the multiget `GET /items?ids=A,B,…&attributes=…`, at most 20 ids a call, only the fields
  wanted (mercadolivre.md § 2; "Seleção de campos" of the same page). It answers `[{"code", "body"}]`, one per id:
  a 404 is an item the seller does not have (any more).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ponte.connectors.base import HeldListing, ReadBack, ReadRequest
from ponte.connectors.mercadolivre.api import error_outcome

if TYPE_CHECKING:
    from ponte.connectors.mercadolivre.connector import MercadoLivreConnector

SCAN_PAGE = 100  # the scan's largest `limit` [O: the news page above]
MULTIGET = 20  # ids per multiget [S] mercadolivre.md § 2
FIELDS = "id,price,available_quantity,status,sub_status,attributes,deal_ids,tags"
# Mercado Livre's reasons an item is not active (`sub_status`), kept as the cause (the Drift page words them).
SUB_STATUS_CAUSES = ("out_of_stock", "deleted", "forbidden", "suspended", "waiting_for_patch", "held", "freezed")


def read(connector: MercadoLivreConnector, request: ReadRequest) -> ReadBack:
    """One page: in a full read, the next scan page's items; in a focused one, the ids asked for."""
    if request.mode == "focused":
        return _items(connector, list(request.listing_ids), complete=False)
    params: dict[str, Any] = {"search_type": "scan", "limit": SCAN_PAGE}
    if request.cursor:
        params["scroll_id"] = request.cursor
    path = f"/users/{connector.user_id_quoted()}/items/search"
    result = connector.api.call("api", "GET", path, params=params)
    body = result.body if isinstance(result.body, dict) else None
    if not result.ok or body is None:
        return ReadBack(outcome=error_outcome(result) if not result.ok else connector.broken(result))
    ids = [str(i) for i in body.get("results") or [] if isinstance(i, str | int)]
    if not ids:
        return ReadBack(cursor=None)
    page = _items(connector, ids, complete=True)
    if page.outcome is None:
        page.cursor = str(body.get("scroll_id") or "") or None
    return page


def _items(connector: MercadoLivreConnector, ids: list[str], *, complete: bool) -> ReadBack:
    found: list[HeldListing] = []
    missing: list[str] = []
    for start in range(0, len(ids), MULTIGET):
        chunk = ids[start : start + MULTIGET]
        result = connector.api.call("api", "GET", "/items", params={"ids": ",".join(chunk), "attributes": FIELDS})
        if not result.ok or not isinstance(result.body, list):
            outcome = error_outcome(result) if not result.ok else connector.broken(result)
            return ReadBack(found, outcome=outcome, missing=tuple(missing), complete=complete)
        for asked, entry in zip(chunk, result.body, strict=False):
            item = entry.get("body") if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or entry.get("code") != 200 or not isinstance(item, dict):
                missing.append(asked)
            else:
                found.append(held(item))
    return ReadBack(found, missing=tuple(missing), complete=complete)


def held(item: dict[str, Any]) -> HeldListing:
    """An item of the multiget as Ponte compares it."""
    attributes = {a.get("id"): a.get("value_name") for a in item.get("attributes") or [] if isinstance(a, dict)}
    sub = [str(s) for s in item.get("sub_status") or []]
    status = str(item.get("status") or "")
    cause = next((s for s in sub if s in SUB_STATUS_CAUSES), None)
    if item.get("deal_ids"):  # a promotion (a "deal") sets the price Mercado Livre shows
        cause = cause or "promotion"
    quantity = item.get("available_quantity")
    return HeldListing(
        listing_id=str(item.get("id")),
        sku=str(attributes["SELLER_SKU"]) if attributes.get("SELLER_SKU") else None,
        price=_money(item.get("price")),
        quantity=int(quantity) if isinstance(quantity, int) and not isinstance(quantity, bool) else None,
        status=status if status in ("active", "paused", "closed", "under_review") else "inactive",
        cause=cause,
        detail={"status": status, "sub_status": sub},
    )


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
