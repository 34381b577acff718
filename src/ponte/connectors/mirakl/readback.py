"""Reading back the offers Mirakl holds (reconciliation): OF51, the shop's offers as one CSV file.

In full (no `last_request_date`) OF51 lists every offer in one call, "once per day" at most; with
`last_request_date` it lists the offers changed since then, deleted ones included, "once per minute" at most (spec
OF51, "Call Frequency"). One call a day reads 100,000 offers where OF21 (`GET /api/offers`) would page through them;
`include_fields` keeps the file to the columns compared. OF51 is marked deprecated in favour of the asynchronous
OF52/OF53/OF54, which an operator that has removed it would need.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ponte.connectors.base import HeldListing, ReadBack, ReadRequest

if TYPE_CHECKING:
    from ponte.connectors.mirakl.connector import MiraklConnector

FIELDS = "offer-id,shop-sku,price,origin-price,discount-price,quantity,active,deleted,last-updated"


def read(connector: MiraklConnector, request: ReadRequest) -> ReadBack:
    """The whole file (a full read: every offer, inactive ones too) or what changed since `request.since`."""
    differential = request.mode == "focused" and request.since is not None
    operation = "OF51-differential" if differential else "OF51"
    params: dict[str, str] = {"include_fields": FIELDS}
    if differential and request.since is not None:
        params["last_request_date"] = request.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        params["include_inactive_offers"] = "true"
    connector.context.limits.acquire(operation)
    result = connector.call("GET", "/api/offers/export", params=params, export=True)
    if not result.ok:
        return ReadBack(outcome=connector.failed(result, "Reading the offers (OF51)", operation))
    text = result.body if isinstance(result.body, str) else ""
    held: list[HeldListing] = []
    deleted: list[str] = []
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        sku = row.get("shop-sku") or ""
        if not sku:
            continue
        if row.get("deleted") == "true":
            deleted.append(sku)
            continue
        quantity = row.get("quantity") or ""
        held.append(
            HeldListing(
                listing_id=sku,
                sku=sku,
                price=_money(row.get("price")),
                quantity=int(quantity) if quantity.isdigit() else None,
                status="active" if row.get("active") == "true" else "inactive",
                cause="a discount set on Mirakl" if row.get("discount-price") else None,
                detail={"offer_id": row.get("offer-id"), "last_updated": row.get("last-updated")},
            )
        )
    return ReadBack(held, missing=tuple(deleted), complete=not differential)


def _money(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").replace(",", ".")).quantize(Decimal("0.01")) if text else None
    except InvalidOperation:
        return None
