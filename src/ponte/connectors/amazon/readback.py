"""Reading back the listings Amazon holds (reconciliation): searchListingsItems, 20 listings a page with their
summaries, offers, stock and issues (`includedData`; pageSize at most 20, listingsItems_2021-08-01.json), at its
5 requests a second. A full read pages through every listing of the seller; a focused one asks for up to 20 SKUs a
call (`identifiers`, `identifiersType=SKU`). A listing's status: BUYABLE is active; without it the listing is
inactive, and its ERROR issues (a suppression) say why.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ponte.connectors.amazon.errors import failure
from ponte.connectors.base import HeldListing, ReadBack, ReadRequest
from ponte.domain.messages import say

if TYPE_CHECKING:
    from ponte.connectors.amazon.connector import AmazonConnector

PAGE = 20  # searchListingsItems: pageSize maximum, and identifiers maxItems
INCLUDED = ["summaries", "offers", "fulfillmentAvailability", "issues"]


def read(connector: AmazonConnector, request: ReadRequest) -> ReadBack:
    if request.mode == "focused" and request.listing_ids:
        return _some(connector, list(request.listing_ids))
    params: dict[str, Any] = {"pageSize": PAGE}
    if request.cursor:
        params["pageToken"] = request.cursor
    body, failed = _search(connector, params)
    if failed is not None:
        return failed
    following = (body.get("pagination") or {}).get("nextToken")
    return ReadBack([held(connector, i) for i in body.get("items") or [] if isinstance(i, dict)], cursor=following)


def _some(connector: AmazonConnector, skus: list[str]) -> ReadBack:
    found: list[HeldListing] = []
    for start in range(0, len(skus), PAGE):
        wanted = skus[start : start + PAGE]
        body, failed = _search(connector, {"identifiers": wanted, "identifiersType": "SKU", "pageSize": PAGE})
        if failed is not None:
            return failed
        found += [held(connector, i) for i in body.get("items") or [] if isinstance(i, dict)]
    seen = {h.sku for h in found}
    return ReadBack(found, missing=tuple(s for s in skus if s not in seen), complete=False)


def _search(connector: AmazonConnector, params: dict[str, Any]) -> tuple[dict[str, Any], ReadBack | None]:
    path = f"/listings/2021-08-01/items/{connector.seller_id()}"
    sent = {"marketplaceIds": [connector.config.marketplace_id], "includedData": INCLUDED, **params}
    result = connector.call("searchListingsItems", "GET", path, params=sent)
    if not result.ok or not isinstance(result.body, dict):
        return {}, ReadBack(outcome=failure(result, say("msg.op.read_back", api="searchListingsItems")))
    return result.body, None


def held(connector: AmazonConnector, item: dict[str, Any]) -> HeldListing:
    """One Item of searchListingsItems as Ponte compares it."""
    marketplace = connector.config.marketplace_id
    sku = str(item.get("sku"))
    summary: dict[str, Any] = _first(item, "summaries", "marketplaceId", marketplace)
    offer: dict[str, Any] = _first(item, "offers", "marketplaceId", marketplace)
    stock: dict[str, Any] = _first(item, "fulfillmentAvailability", "fulfillmentChannelCode", "DEFAULT")
    errors = [i for i in item.get("issues") or [] if i.get("severity") == "ERROR"]
    buyable = "BUYABLE" in (summary.get("status") or [])
    quantity = stock.get("quantity")
    return HeldListing(
        listing_id=sku,
        sku=sku,
        price=_money((offer.get("price") or {}).get("amount")),
        quantity=int(quantity) if isinstance(quantity, int) else None,
        status="active" if buyable else "inactive",
        cause=None if buyable or not errors else f"{errors[0].get('code')}: {errors[0].get('message')}",
        detail={
            "asin": summary.get("asin"),
            "status": summary.get("status"),
            "product_type": summary.get("productType"),
        },
    )


def _first(item: dict[str, Any], part: str, key: str, value: str) -> dict[str, Any]:
    """The entry of `item[part]` whose `key` is `value` (the marketplace's summary, offer; the seller's own stock)."""
    return next((e for e in item.get(part) or [] if isinstance(e, dict) and e.get(key) == value), {})


def _money(amount: Any) -> Decimal | None:
    try:
        return Decimal(str(amount)).quantize(Decimal("0.01")) if amount is not None else None
    except InvalidOperation:
        return None
