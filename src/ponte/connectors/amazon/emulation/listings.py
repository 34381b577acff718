"""The Listings Items API 2021-08-01 as the emulation plays it, and how it judges a listing.

The models declare `attributes` free-form: a real listing is judged against its product type's schema (Product
Type Definitions API). The emulation keeps a few product types with the attributes each requires (state.py;
`_admin/product_types` adds more) and answers what Amazon answers: `ACCEPTED` with the issues found, or `INVALID`
with the ERROR issues that refused it. Codes as Amazon documents them (errors.yaml: 90220 is the models' own
example); 99300 (a recommended attribute missing, a WARNING) is the emulation's own.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.amazon.emulation.api import Api, Refused, answer
from ponte.connectors.amazon.emulation.state import IDENTIFIERS, Listing, Market, Seller
from ponte.domain.checks import gtin_is_valid

SUPPRESSED = [{"action": "LISTING_SUPPRESSED"}]


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def issue(code: str, message: str, category: str, attribute: str | None, severity: str = "ERROR") -> dict[str, Any]:
    found: dict[str, Any] = {"code": code, "message": message, "severity": severity, "categories": [category]}
    if attribute:
        found["attributeNames"] = [attribute]
    if severity == "ERROR":
        found["enforcements"] = {"actions": SUPPRESSED, "exemption": {"status": "NOT_EXEMPT"}}
    return found


def _first(attributes: dict[str, Any], name: str, key: str = "value") -> Any:
    values = attributes.get(name)
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return values[0].get(key)
    return None


def _price_problem(attributes: dict[str, Any]) -> dict[str, Any] | None:
    offers = attributes.get("purchasable_offer")
    if offers is None:
        return None
    try:
        price = offers[0]["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return issue("90220", "'our_price' is required but not supplied.", "MISSING_PRICE", "purchasable_offer")
    if isinstance(price, bool) or not isinstance(price, int | float) or price <= 0:
        return issue(
            "90205", f"The value '{price}' is not valid for 'our_price'.", "INVALID_PRICE", "purchasable_offer"
        )
    return None


def _quantity_problem(attributes: dict[str, Any]) -> dict[str, Any] | None:
    for entry in attributes.get("fulfillment_availability") or []:
        if not isinstance(entry, dict) or not entry.get("fulfillment_channel_code"):
            return issue(
                "90220", "'fulfillment_channel_code' is required but not supplied.", "MISSING_ATTRIBUTE",
                "fulfillment_availability",
            )  # fmt: skip
        quantity = entry.get("quantity", 0)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            return issue(
                "90205", f"The value '{quantity}' is not valid for 'quantity'.", "INVALID_ATTRIBUTE",
                "fulfillment_availability",
            )  # fmt: skip
    return None


def judge(market: Market, seller: Seller, product_type: str, attributes: dict[str, Any]) -> list[dict[str, Any]]:
    """The issues Amazon finds in a full listing (putListingsItem, a feed's UPDATE)."""
    required = market.product_types.get(product_type)
    if required is None:
        return [
            issue(
                "4000003", "The Amazon product type specified is invalid or not supported.", "INVALID_ATTRIBUTE", None
            )
        ]
    found = []
    for name, values in attributes.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, dict) for v in values):
            found.append(issue("90205", f"The value provided for '{name}' is not valid.", "INVALID_ATTRIBUTE", name))
    for name in required:
        if _first(attributes, name) is None and _first(attributes, name, "media_location") is None:
            found.append(issue("90220", f"'{name}' is required but not supplied.", "MISSING_ATTRIBUTE", name))
    if not any(name in attributes for name in IDENTIFIERS):
        found.append(
            issue("90220", f"'{IDENTIFIERS[0]}' is required but not supplied.", "MISSING_ATTRIBUTE", IDENTIFIERS[0])
        )
    ean = str(_first(attributes, IDENTIFIERS[0]) or "")
    brand = str(_first(attributes, "brand") or "")
    if ean and not gtin_is_valid(ean):
        found.append(issue("90205", f"The value '{ean}' is not a valid EAN.", "INVALID_ATTRIBUTE", IDENTIFIERS[0]))
    elif ean in market.catalog and brand and market.catalog[ean][1].casefold() != brand.casefold():
        asin, owner = market.catalog[ean]
        message = (
            f"The product identifier ean '{ean}' matches ASIN {asin} in the Amazon catalog, whose brand '{owner}' "
            f"conflicts with the brand you provided ('{brand}')."
        )
        found.append(issue("8541", message, "INVALID_ATTRIBUTE", IDENTIFIERS[0]))
    if brand and brand.casefold() in {b.casefold() for b in seller.restricted_brands}:
        message = f"You need approval to list products of brand '{brand}' in this category."
        found.append(issue("5665", message, "QUALIFICATION_REQUIRED", "brand"))
    for problem in (_price_problem(attributes), _quantity_problem(attributes)):
        if problem:
            found.append(problem)
    if "product_description" not in attributes:
        message = f"'product_description' is recommended for product type {product_type} but not supplied."
        found.append(issue("99300", message, "MISSING_ATTRIBUTE", "product_description", "WARNING"))
    return found


def asin_for(market: Market, seller_id: str, sku: str, attributes: dict[str, Any]) -> str:
    ean = str(_first(attributes, IDENTIFIERS[0]) or "")
    if ean in market.catalog:
        return market.catalog[ean][0]
    return "B0" + hashlib.sha1(f"{seller_id}/{sku}".encode()).hexdigest()[:8].upper()


def apply_patches(listing: Listing, patches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON Patch on /attributes/<name> (add, replace, merge, delete); the issues the change itself brings."""
    for patch in patches:
        path = str(patch.get("path") or "")
        if not path.startswith("/attributes/") or path.count("/") != 2:
            return [issue("90205", f"The patch path '{path}' is not valid.", "INVALID_ATTRIBUTE", None)]
        name, value = path.removeprefix("/attributes/"), patch.get("value")
        if patch["op"] == "delete":
            listing.attributes.pop(name, None)
        elif patch["op"] == "merge" and name == "fulfillment_availability":
            held = {e.get("fulfillment_channel_code"): e for e in listing.attributes.get(name) or []}
            for entry in value or []:
                held[entry.get("fulfillment_channel_code")] = {
                    **held.get(entry.get("fulfillment_channel_code"), {}),
                    **entry,
                }
            listing.attributes[name] = list(held.values())
        else:
            listing.attributes[name] = value
    return [p for p in (_price_problem(listing.attributes), _quantity_problem(listing.attributes)) if p]


def submission(
    market: Market, sku: str, status: str, issues: list[dict[str, Any]], asin: str | None, marketplace: str
) -> dict[str, Any]:
    """A ListingsItemSubmissionResponse."""
    body: dict[str, Any] = {"sku": sku, "status": status, "submissionId": f"{market.next_id():08x}-emulated"}
    body["issues"] = issues
    if asin:
        body["identifiers"] = [{"marketplaceId": marketplace, "asin": asin}]
    return body


def view(listing: Listing, marketplace_id: str, included: list[str]) -> dict[str, Any]:
    """An Item as getListingsItem answers it, with the `includedData` asked for."""
    item: dict[str, Any] = {"sku": listing.sku}
    issues = listing.issues + listing.later
    errors = any(i.get("severity") == "ERROR" for i in issues)
    if "summaries" in included:
        summary: dict[str, Any] = {
            "marketplaceId": marketplace_id,
            "productType": listing.product_type,
            "status": [] if errors else ["BUYABLE", "DISCOVERABLE"],
            "createdDate": iso(listing.created),
            "lastUpdatedDate": iso(listing.updated),
        }
        name = _first(listing.attributes, "item_name")
        if listing.asin:
            summary["asin"] = listing.asin
        if name:
            summary["itemName"] = str(name)
        item["summaries"] = [summary]
    if "attributes" in included:
        item["attributes"] = listing.attributes
    if "issues" in included:
        item["issues"] = issues
    if "offers" in included:
        offer = (listing.attributes.get("purchasable_offer") or [{}])[0]
        try:
            price = offer["our_price"][0]["schedule"][0]["value_with_tax"]
        except (KeyError, IndexError, TypeError):
            price = None
        if price is not None:
            money = {"currencyCode": str(offer.get("currency") or "BRL"), "amount": f"{float(price):.2f}"}
            item["offers"] = [{"marketplaceId": marketplace_id, "offerType": "B2C", "price": money}]
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = [
            {"fulfillmentChannelCode": str(e.get("fulfillment_channel_code")), "quantity": int(e.get("quantity") or 0)}
            for e in listing.attributes.get("fulfillment_availability") or []
        ]
    return item


SCANS_KEPT = 16  # scans whose SKU lists the emulation keeps for their next pages (a real nextToken is opaque)


class Listings(Api):
    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self._scans: dict[str, list[str]] = {}

    def _marketplace(self, request: Request) -> str:
        return request.query_params.get("marketplaceIds", "").split(",")[0]

    async def put(self, request: Request) -> Response:
        seller, headers = self.seller(request, "putListingsItem")
        self.own(request, seller)
        body = await self.json(request)
        sku, product_type = request.path_params["sku"], str(body["productType"])
        attributes = body["attributes"]
        market = self.market
        with market.lock:
            issues = judge(market, seller, product_type, attributes)
            invalid = any(i["severity"] == "ERROR" for i in issues)
            preview = request.query_params.get("mode") == "VALIDATION_PREVIEW"
            if invalid:
                return answer(
                    submission(market, sku, "INVALID", issues, None, self._marketplace(request)), headers=headers
                )
            asin = asin_for(market, seller.seller_id, sku, attributes)
            if preview:
                return answer(
                    submission(market, sku, "VALID", issues, asin, self._marketplace(request)), headers=headers
                )
            now = market.now()
            old = market.listings.get((seller.seller_id, sku))
            market.listings[(seller.seller_id, sku)] = Listing(
                seller.seller_id, sku, product_type, dict(attributes), asin, old.created if old else now, now,
                [i for i in issues if i["severity"] != "ERROR"], old.later if old else [],
            )  # fmt: skip
        return answer(submission(market, sku, "ACCEPTED", issues, asin, self._marketplace(request)), headers=headers)

    async def patch(self, request: Request) -> Response:
        seller, headers = self.seller(request, "patchListingsItem")
        self.own(request, seller)
        body = await self.json(request)
        sku = request.path_params["sku"]
        market = self.market
        with market.lock:
            listing = market.listings.get((seller.seller_id, sku))
            if listing is None:
                raise Refused(404, "NotFound", f"SKU '{sku}' not found in marketplace {self._marketplace(request)}")
            trial = Listing(**{**listing.__dict__, "attributes": dict(listing.attributes)})
            issues = apply_patches(trial, body["patches"])
            if issues:
                return answer(
                    submission(market, sku, "INVALID", issues, None, self._marketplace(request)), headers=headers
                )
            if request.query_params.get("mode") != "VALIDATION_PREVIEW":
                listing.attributes, listing.updated = trial.attributes, market.now()
        return answer(
            submission(market, sku, "ACCEPTED", [], listing.asin, self._marketplace(request)), headers=headers
        )

    async def get(self, request: Request) -> Response:
        seller, headers = self.seller(request, "getListingsItem")
        self.own(request, seller)
        sku = request.path_params["sku"]
        listing = self.market.listings.get((seller.seller_id, sku))
        if listing is None:
            raise Refused(404, "NotFound", f"SKU '{sku}' not found in marketplace {self._marketplace(request)}")
        included = request.query_params.get("includedData", "summaries").split(",")
        return answer(view(listing, self._marketplace(request), included), headers=headers)

    async def delete(self, request: Request) -> Response:
        seller, headers = self.seller(request, "deleteListingsItem")
        self.own(request, seller)
        sku = request.path_params["sku"]
        market = self.market
        with market.lock:
            if market.listings.pop((seller.seller_id, sku), None) is None:
                raise Refused(404, "NotFound", f"SKU '{sku}' not found in marketplace {self._marketplace(request)}")
        return answer(submission(market, sku, "ACCEPTED", [], None, self._marketplace(request)), headers=headers)

    async def search(self, request: Request) -> Response:
        seller, headers = self.seller(request, "searchListingsItems")
        self.own(request, seller)
        params = request.query_params
        listings = self.market.listings
        scan, _, at = (params.get("pageToken") or "").partition(":")
        if params.get("identifiersType") == "SKU" and params.get("identifiers"):
            wanted = sorted(set(params["identifiers"].split(",")))
            skus = [sku for sku in wanted if (seller.seller_id, sku) in listings]
        elif scan in self._scans:  # the next page of a scan: the SKUs as they were when it began
            skus = self._scans[scan]
        else:  # a scan begins: its SKUs, sorted once (sorting 100,000 listings for every page of 20 took minutes)
            skus = sorted(sku for (owner, sku) in listings if owner == seller.seller_id)
            scan = str(self.market.next_id())
            self._scans[scan] = skus
            while len(self._scans) > SCANS_KEPT:
                del self._scans[next(iter(self._scans))]
        size = int(params.get("pageSize") or 10)
        start = int(at or 0)
        page = [
            listings[key] for key in ((seller.seller_id, sku) for sku in skus[start : start + size]) if key in listings
        ]
        included = params.get("includedData", "summaries").split(",")
        body: dict[str, Any] = {
            "numberOfResults": len(skus),
            "items": [view(li, self._marketplace(request), included) for li in page],
        }
        if start + size < len(skus):
            body["pagination"] = {"nextToken": f"{scan}:{start + size}"}
        return answer(body, headers=headers)
