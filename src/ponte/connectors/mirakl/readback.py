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
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ponte.connectors.base import HeldListing, Outcome, ReadBack, ReadRequest
from ponte.domain.messages import say

if TYPE_CHECKING:
    from ponte.connectors.mirakl.connector import MiraklConnector

FIELDS = "offer-id,shop-sku,price,origin-price,discount-price,quantity,active,deleted,last-updated"


BATCH = 2_000  # offers handed to a streaming request's sink at a time


def read(connector: MiraklConnector, request: ReadRequest) -> ReadBack:
    """The whole file (a full read: every offer, inactive ones too) or what changed since `request.since`. With a
    `sink`, the offers go to it in batches while the file downloads (the CSV read line by line as it comes)."""
    differential = request.mode == "focused" and request.since is not None
    operation = "OF51-differential" if differential else "OF51"
    params: dict[str, str] = {"include_fields": FIELDS}
    if differential and request.since is not None:
        params["last_request_date"] = request.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        params["include_inactive_offers"] = "true"
    connector.context.limits.acquire(operation)
    offers = _Offers(request.sink)
    try:
        result = connector.call(
            "GET", "/api/offers/export", params=params, export=True, sink=offers.feed if request.sink else None
        )
    except MissingColumns as missing:
        return _without(missing)
    if not result.ok:
        return ReadBack(outcome=connector.failed(result, say("msg.op.read_offers", api="OF51"), operation))
    try:
        if request.sink is None:
            offers.feed((result.body if isinstance(result.body, str) else "").encode())
        offers.end()
    except MissingColumns as missing:
        return _without(missing)
    return ReadBack(offers.held, missing=tuple(offers.deleted), complete=not differential, streamed=offers.streamed)


class MissingColumns(ValueError):
    """OF51's header lacks columns the comparison needs (their names are the args)."""


def _without(missing: MissingColumns) -> ReadBack:
    return ReadBack(
        outcome=Outcome.error(say("msg.mirakl.export_columns", api="OF51", columns=", ".join(missing.args)))
    )


class _Offers:
    """OF51's CSV (`;`-separated, a header line first) read from chunks of bytes as they come: complete lines are
    parsed at once, a line cut by the chunk's end (or a quoted field running across lines) waits for the next."""

    def __init__(self, sink: Callable[[list[HeldListing]], None] | None) -> None:
        self.sink = sink
        self.rest = b""
        self.columns: dict[str, int] | None = None
        self.held: list[HeldListing] = []
        self.deleted: list[str] = []
        self.streamed = 0

    def feed(self, chunk: bytes) -> None:
        text = self.rest + chunk
        cut = text.rfind(b"\n") + 1
        while cut and text[:cut].count(b'"') % 2:  # inside a quoted field: cut at an earlier line end
            cut = text.rfind(b"\n", 0, cut - 1) + 1
        self.rest = text[cut:]
        if cut:
            self._lines(text[:cut].decode("utf-8", "replace"))

    def end(self) -> None:
        if self.rest.strip():
            self._lines(self.rest.decode("utf-8", "replace"))
        self.rest = b""
        if self.columns is None:
            self._header([])
        self._hand_over(final=True)

    def _header(self, names: list[str]) -> dict[str, int]:
        at = {name: n for n, name in enumerate(names)}
        missing = [name for name in FIELDS.split(",") if name not in at]
        if missing:
            raise MissingColumns(*missing)
        self.columns = at
        return at

    def _lines(self, text: str) -> None:
        rows = csv.reader(io.StringIO(text), delimiter=";")
        at = self.columns if self.columns is not None else self._header(next(rows, []))
        sku_at, price_at, quantity_at = at["shop-sku"], at["price"], at["quantity"]
        active_at, deleted_at, discount_at = at["active"], at["deleted"], at["discount-price"]
        held, deleted = self.held, self.deleted
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
        self._hand_over()

    def _hand_over(self, *, final: bool = False) -> None:
        if self.sink is not None and self.held and (final or len(self.held) >= BATCH):
            batch, self.held = self.held, []
            self.streamed += len(batch)
            self.sink(batch)


def _money(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ".")) if text else None
    except InvalidOperation:
        return None
