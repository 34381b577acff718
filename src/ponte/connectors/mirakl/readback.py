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

from ponte.connectors.base import HeldListing, Outcome, ReadBack, ReadRequest
from ponte.domain.messages import say

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
        return ReadBack(outcome=connector.failed(result, say("msg.op.read_offers", api="OF51"), operation))
    text = result.body if isinstance(result.body, str) else ""
    rows = csv.reader(io.StringIO(text), delimiter=";")
    header = next(rows, [])
    at = {name: n for n, name in enumerate(header)}
    missing_column = [name for name in FIELDS.split(",") if name not in at]
    if missing_column:
        said = say("msg.mirakl.export_columns", api="OF51", columns=", ".join(missing_column))
        return ReadBack(outcome=Outcome.error(said))
    sku_at, price_at, quantity_at = at["shop-sku"], at["price"], at["quantity"]
    active_at, deleted_at, discount_at = at["active"], at["deleted"], at["discount-price"]
    held: list[HeldListing] = []
    deleted: list[str] = []
    for row in rows:
        sku = row[sku_at] if len(row) > sku_at else ""
        if not sku:
            continue
        if row[deleted_at] == "true":
            deleted.append(sku)
            continue
        quantity = row[quantity_at]
        held.append(
            HeldListing(
                listing_id=sku,
                sku=sku,
                price=_money(row[price_at]),
                quantity=int(quantity) if quantity.isdigit() else None,
                status="active" if row[active_at] == "true" else "inactive",
                cause="discount" if row[discount_at] else None,
            )
        )
    return ReadBack(held, missing=tuple(deleted), complete=not differential)


def _money(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ".")) if text else None
    except InvalidOperation:
        return None
