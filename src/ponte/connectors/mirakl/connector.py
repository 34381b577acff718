"""The Mirakl connector: one connector for every marketplace that runs on Mirakl's seller API (MMP).

What it does, call by call (operation ids of the spec, src/ponte/connectors/mirakl/spec/):
- price and stock: offers in batches, OF24 (JSON) at most once a minute, or OF01 (a CSV file) for big batches;
  each import is polled with OF02 and its error report OF03 split back into one attempt per SKU;
- products: P41 product imports (a CSV file) at most every 15 minutes, polled with P42; the non-integrated
  products report P44 (and P47 when the file could not be transformed) split into one attempt per SKU; products
  awaiting the operator's review wait ("aguardando"), they are not errors;
- orders: OR11 reads the orders waiting for acceptance, Ponte validates them, OR21 accepts or refuses each line;
  tracking (OR23) then shipment (OR24) when the store ships;
- "Testar conexão": A01 reads the shop (once a day at most, see `test_connection`).
Call frequencies are the spec's "Maximum usage" (its "Call Frequency" blocks): the rates below hold every worker to
them through the shared buckets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from ponte.connectors.base import (
    BatchResult,
    BatchSpec,
    Connector,
    ConnectorSettings,
    FetchedOrders,
    MarketplaceAttribute,
    MarketplaceCategory,
    Outcome,
    PriceSend,
    ProductSend,
    RateLimit,
    ReadBack,
    ReadRequest,
    Send,
    StockSend,
    SubmissionPoll,
    SubmissionRef,
    TrackingSend,
)
from ponte.connectors.context import Deferred
from ponte.connectors.http import HttpClient, HttpResult
from ponte.connectors.mirakl import files, imports, readback, structure
from ponte.connectors.mirakl.errors import DEFAULT_RETRY, failure, records
from ponte.connectors.mirakl.offers import Offer, offer_of
from ponte.connectors.mirakl.orders import acceptance, incoming_order, tracking
from ponte.connectors.mirakl.settings import LABELS, MiraklSettings, operator_code
from ponte.domain import Disposition
from ponte.domain.messages import Message, say

log = logging.getLogger("ponte.connectors.mirakl")

MINUTE = 60.0
REPORT_LIMIT = 2 * 1024 * 1024  # error reports: a refused line is ~200 bytes, 10,000 of them fit twice over
OFFERS_PER_BATCH = 20_000  # claims in one offer batch: a SKU's price and stock are one offer
# OF51's file with the compared columns only is ~60 bytes an offer: 100,000 offers are 6 MB.
EXPORT_LIMIT = 64 * 1024 * 1024
EXPORT_TIMEOUT = 120.0


class MiraklConnector(Connector):
    kind = "mirakl"
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = LABELS
    Settings = MiraklSettings
    flows = frozenset({"product", "price", "inventory", "order", "tracking"})
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        "OF24": RateLimit(rate=1 / MINUTE, burst=1),  # "Maximum usage: Once per minute"
        "OF01": RateLimit(rate=1 / MINUTE, burst=1),  # "Once per minute with offers only"
        "P41": RateLimit(rate=1 / (15 * MINUTE), burst=1),  # "Every 15 minutes, for each seller"
        "A01": RateLimit(rate=1 / (24 * 3600), burst=1),  # "Once per day"
        "H11": RateLimit(rate=1 / 3600, burst=1),  # the catalog structure: "Every hour" (H11, PM11, VL11)
        "PM11": RateLimit(rate=1 / 3600, burst=1),
        "VL11": RateLimit(rate=1 / 3600, burst=1),
        "OF51": RateLimit(rate=1 / (24 * 3600), burst=1),  # the offers export in full: "once per day"
        "OF51-differential": RateLimit(rate=1 / MINUTE, burst=1),  # with last_request_date: "once per minute"
    }
    # Reconciliation: an offer carries price, stock and its state, and OF24 makes a deleted one again: every drift
    # Ponte can put right is put right by sending the offer. A focused read asks what changed (OF51 differential).
    repairs: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "stock_higher": ("inventory",),
        "stock_lower": ("inventory",),
        "price": ("price",),
        "status": ("inventory",),
        "missing": ("inventory",),
    }
    reads_changes_since = True
    reads_whole_shop = True
    # Every price or stock change rides in the next offer batch (an offer carries both: one call takes them all),
    # every new product in the next product import.
    batches: ClassVar[Mapping[str, BatchSpec]] = {
        "price": BatchSpec("OF24", max_items=OFFERS_PER_BATCH, mode="always", together=True),
        "inventory": BatchSpec("OF24", max_items=OFFERS_PER_BATCH, mode="always", together=True),
        "product": BatchSpec("P41", max_items=OFFERS_PER_BATCH, mode="always"),
    }
    order_poll_every = MINUTE  # OR11, asynchronous use: "once per minute" at most
    accepts_lines = True  # OR21 accepts or refuses each line

    @classmethod
    def marketplace_for(cls, settings: Mapping[str, Any]) -> str:
        """The operator (Carrefour's words are read as Carrefour's: knowledge/data/rules/carrefour.yaml)."""
        return operator_code(settings)

    @classmethod
    def emulation(cls) -> Any:
        from ponte.connectors.mirakl.emulation import MiraklEmulation

        return MiraklEmulation()

    def __init__(self, settings: ConnectorSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        assert isinstance(settings, MiraklSettings)
        self.config = settings
        self._key = settings.api_key.get_secret_value()
        self.http = HttpClient(settings.base_url, timeout=self.timeout, body_limit=self.body_limit, secrets=[self._key])
        self.reports = HttpClient(settings.base_url, timeout=self.timeout, body_limit=REPORT_LIMIT, secrets=[self._key])
        self.exports = HttpClient(
            settings.base_url, timeout=max(self.timeout, EXPORT_TIMEOUT), body_limit=EXPORT_LIMIT, secrets=[self._key]
        )

    @property
    def operator(self) -> str:
        return self.config.operator

    def call(self, method: str, path: str, *, report: bool = False, export: bool = False, **kwargs: Any) -> HttpResult:
        """One request with the shop's key (raw, no "Bearer": spec securitySchemes Shop-API-Key) and shop_id."""
        params = dict(kwargs.pop("params", None) or {})
        if self.config.shop_id is not None:
            params["shop_id"] = self.config.shop_id
        headers = {"Authorization": self._key, **(kwargs.pop("headers", None) or {})}
        client = self.exports if export else self.reports if report else self.http
        return client.request(method, path, params=params or None, headers=headers, **kwargs)

    def failed(self, result: HttpResult, what: Message, operation: str | None = None) -> Outcome:
        """An unsuccessful answer as an Outcome; a 429 also holds `operation` for every worker until it may go."""
        outcome = failure(result, what)
        if result.status == 429 and operation is not None:
            self.context.limits.pause(operation, outcome.retry_after or DEFAULT_RETRY)
        return outcome

    # -- offers and products: batches and the imports they make ------------------------------------------

    def send_batch(self, flow: str, sends: list[Send]) -> BatchResult:
        if flow == "product":
            return self._send_products([s for s in sends if isinstance(s, ProductSend)])
        offers: dict[str, Offer] = {}
        refused: dict[str, Outcome] = {}
        for send in sends:
            if isinstance(send, PriceSend | StockSend):
                made = offer_of(send, self.config)
                if isinstance(made, Outcome):
                    refused[send.sku] = made
                else:
                    offers[send.sku] = made
        result = self._send_offers(offers) if offers else BatchResult()
        result.outcomes.update(refused)
        return result

    def _send_offers(self, offers: dict[str, Offer]) -> BatchResult:
        """OF24 with the offers as JSON, or, for a batch of `file_import_from` offers or more and while OF01's
        token is there, OF01 with them as a CSV file (Mirakl's way for volume; both are once a minute)."""
        api, result = "OF24", None
        if len(offers) >= self.config.file_import_from and self.context.limits.available("OF01") >= 1:
            try:
                self.context.limits.acquire("OF01")
            except Deferred:
                pass  # another worker took it meanwhile: the batch goes as OF24 all the same
            else:
                api = "OF01"
                body, content_type = files.multipart(
                    files.offers_csv(list(offers.values())), "offers.csv", {"import_mode": "NORMAL"}
                )
                result = self.call("POST", "/api/offers/imports", content=body, headers={"Content-Type": content_type})
                result.sent = {"import_mode": "NORMAL", "file": f"offers.csv ({len(offers)} offers)"}
        if result is None:
            result = self.call("POST", "/api/offers", json={"offers": list(offers.values())})
        return imports.submitted(self, api, result, {sku: (sku, offer) for sku, offer in offers.items()})

    def _send_products(self, sends: list[ProductSend]) -> BatchResult:
        rows = {
            send.sku: files.product_row(send, send.marketplace_category or send.category, self.config.product_id_type)
            for send in sends
        }
        body, content_type = files.multipart(files.products_csv(list(rows.values())), "products.csv", {})
        result = self.call("POST", "/api/products/imports", content=body, headers={"Content-Type": content_type})
        result.sent = {"file": f"products.csv ({len(rows)} products)"}
        refs = {sku: (f"{row['product-id-type']}:{row['product-id']}", row) for sku, row in rows.items()}
        return imports.submitted(self, "P41", result, refs)

    def poll_submission(self, submission: SubmissionRef) -> SubmissionPoll:
        if submission.operation == "P41":
            return imports.poll_products(self, submission)
        return imports.poll_offers(self, submission)

    # -- orders ---------------------------------------------------------------------------------------------

    def fetch_orders(self, cursor: str | None) -> FetchedOrders:
        """The orders waiting for the shop's acceptance (OR11). One page a minute: the page empties as Ponte
        accepts or refuses what it read (the spec declares no page parameters; Mirakl's default page is 10)."""
        result = self.call("GET", "/api/orders", params={"order_state_codes": "WAITING_ACCEPTANCE"})
        if not result.ok or not isinstance(result.body, dict):
            outcome = self.failed(result, say("msg.op.read_orders", api="OR11")) if not result.ok else None
            outcome = outcome or Outcome.error(say("msg.call.not_an_object", api="OR11"), transient=True)
            return FetchedOrders([], cursor, outcome=outcome)
        raw = [o for o in result.body.get("orders") or [] if isinstance(o, dict) and o.get("order_id")]
        orders = [order for order in map(incoming_order, raw) if order["items"]]
        newest = max((str(o["created_at"]) for o in orders if o.get("created_at")), default=cursor)
        return FetchedOrders(orders, newest)

    def acknowledge_order(self, external_id: str, outcome: Outcome) -> Outcome:
        """OR21: each line Ponte placed is accepted, each it refused is refused (the reason stays in Ponte's
        attempt: OR21 carries none). Nothing is sent when there is no decision (an order placed before)."""
        body = acceptance(outcome.lines)
        if body is None:
            return Outcome.ok(say("msg.mirakl.no_lines"))
        path = f"/api/orders/{quote(external_id, safe='')}/accept"
        for attempt in range(2):  # once more after a passing failure: an order left waiting is refused by Mirakl
            result = self.call("PUT", path, json=body)
            if result.ok:
                accepted = sum(1 for line in body["order_lines"] if line["accepted"])
                refused = len(body["order_lines"]) - accepted
                return Outcome.ok(
                    say("msg.mirakl.lines_accepted", n=accepted, refused=refused, operator=self.operator),
                    **records(result),
                )
            answer = self.failed(result, say("msg.op.accept_order", api="OR21"))
            if not answer.transient or attempt:
                break
        log.warning("order %s: OR21 on %s failed: %s", external_id, self.affiliate_code, answer.message)
        return answer

    def send_tracking(self, send: TrackingSend) -> Outcome:
        """OR23 (carrier and tracking number), then OR24 (the shipment is confirmed: the order must be SHIPPING)."""
        body = tracking(send, self.config.carriers)
        if "tracking_number" not in body:
            return Outcome.error(
                say("msg.tracking.missing", order=send.order_id, marketplace="Mirakl"),
                category="invoice_tracking_rejected",
                disposition=Disposition.FIX,
                code="no_tracking_number",
            )
        order = quote(send.order_id, safe="")
        sent = self.call("PUT", f"/api/orders/{order}/tracking", json=body)
        if not sent.ok:
            return self.failed(sent, say("msg.op.send_tracking", api="OR23"))
        shipped = self.call("PUT", f"/api/orders/{order}/ship")
        if not shipped.ok:
            return self.failed(shipped, say("msg.op.confirm_shipment", api="OR24"))
        return Outcome.ok(
            say("msg.mirakl.tracking_sent", tracking=send.tracking_number, operator=self.operator),
            request={"OR23": sent.record_request(), "OR24": shipped.record_request()},
            response={"OR23": sent.status, "OR24": shipped.status},
            http_status=shipped.status,
        )

    # -- the catalog's structure (structure.py) ----------------------------------------------------------------

    def category_tree(self) -> list[MarketplaceCategory]:
        return structure.tree(self)

    def category_attributes(self, category_ids: list[str]) -> dict[str, list[MarketplaceAttribute]]:
        return structure.attributes(self, category_ids)

    @classmethod
    def sent_attributes(cls, send: ProductSend, settings: Mapping[str, Any]) -> Mapping[str, str]:
        row = files.product_row(send, send.marketplace_category or send.category, "EAN")
        return {name: files.cell(value) for name, value in row.items() if value is not None}

    # -- the connection test ----------------------------------------------------------------------------------

    def test_connection(self) -> Outcome:
        """Which shop the key opens. A01 (the shop's information) is documented "Once per day" at most, and the
        connector declares that rate; a person testing the connection is rarely more often than that, so the
        test spends the day's A01 when it is there and says which shop it is. Tested again within the day, it
        does not call A01 beyond its maximum: V01 (the health check, no documented frequency, answered only with a
        valid key) proves the key still opens the instance, and the message says when the shop may be read again."""
        try:
            self.context.limits.acquire("A01")
        except Deferred as waiting:
            hours = max(1, round(waiting.seconds / 3600))
            result = self.call("GET", "/api/version")
            if not result.ok:
                return self.failed(result, say("msg.op.check_key", api="V01"))
            return Outcome.ok(say("msg.mirakl.key_opens", operator=self.operator, hours=hours), **records(result))
        result = self.call("GET", "/api/account")
        if not result.ok or not isinstance(result.body, dict):
            return self.failed(result, say("msg.op.read_shop", api="A01"), "A01")
        shop = result.body
        state = shop.get("shop_state")
        facts = {"operator": self.operator, "shop": shop.get("shop_name"), "id": shop.get("shop_id"), "state": state}
        if state not in (None, "OPEN"):
            return Outcome.warning(say("msg.mirakl.connected_closed", **facts), **records(result))
        return Outcome.ok(say("msg.mirakl.connected", **facts), **records(result))

    def read_listings(self, request: ReadRequest) -> ReadBack:
        """The shop's offers as Mirakl holds them (readback.py: OF51 in full, or what changed since)."""
        return readback.read(self, request)

    def close(self) -> None:
        self.http.close()
        self.reports.close()
        self.exports.close()
