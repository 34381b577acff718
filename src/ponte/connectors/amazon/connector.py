"""The Amazon connector: the Selling Partner API (amazon-sp-api.md), for a seller who authorised Ponte's app.

What it does, operation by operation (operationIds of the models in spec/):
- product: putListingsItem with the product type and the attributes it asks for (listings.py); the answer's
  `status` and `issues[]` decide the attempt (ERROR fails it in Amazon's words, WARNING makes it "com aviso");
- price and stock: patchListingsItem (`purchasable_offer`, `fulfillment_availability`) one SKU at a time;
- orders: searchOrders (Orders 2026-01-01, the current one) polled for what changed since the last poll, each
  order with its items; ORDER_CHANGE notifications read with getOrder; the shipment by v0's confirmShipment;
- listing issues Amazon finds after it accepted a listing: LISTINGS_ITEM_ISSUES_CHANGE, read with getListingsItem;
- the connection test: searchListingsItems (one listing), which proves the token and the seller id together.
Each operation's default usage plan (the rate and burst printed in its description in the models) is declared
below, so the shared buckets hold every worker to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from ponte.clock import now
from ponte.connectors.amazon import feeds, listings, notifications, orders, readback
from ponte.connectors.amazon.api import AmazonApi
from ponte.connectors.amazon.errors import failure, issues_outcome, records
from ponte.connectors.amazon.settings import BRAZIL, LABELS, AmazonSettings
from ponte.connectors.base import (
    BatchResult,
    BatchSpec,
    CallFailed,
    Connector,
    ConnectorSettings,
    FetchedOrders,
    Grant,
    GrantRefused,
    Identity,
    Listing,
    Notice,
    Outcome,
    PriceSend,
    ProductSend,
    RateLimit,
    ReadBack,
    ReadRequest,
    Resolved,
    Send,
    StockSend,
    SubmissionPoll,
    SubmissionRef,
    TrackingSend,
)
from ponte.connectors.context import ConnectorContext, CredentialsMissing
from ponte.connectors.http import HttpResult
from ponte.domain import Disposition
from ponte.domain.messages import say

LISTINGS = "/listings/2021-08-01/items"
SELLER_ID = re.compile(r"^[A-Z0-9]{1,40}$")  # a merchant token: A3FHEXAMPLEYWS
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # a pasted refresh token's first access token is "expired" from the start

# Default usage plans, from each operation's description in the models (requests a second / burst).
RATES: Mapping[str, RateLimit] = {
    "putListingsItem": RateLimit(5, 10),
    "patchListingsItem": RateLimit(5, 5),
    "getListingsItem": RateLimit(5, 10),
    "deleteListingsItem": RateLimit(5, 5),
    "searchListingsItems": RateLimit(5, 5),
    "searchOrders": RateLimit(0.0056, 20),
    "getOrder": RateLimit(0.5, 30),
    "confirmShipment": RateLimit(2, 10),
    "createFeedDocument": RateLimit(0.5, 15),
    # createFeed's own plan; JSON_LISTINGS_FEED has a limit of its own, not in the models (amazon-sp-api.md § 3).
    "createFeed": RateLimit(0.0083, 15),
    "getFeed": RateLimit(2, 15),
    "getFeedDocument": RateLimit(0.0222, 10),
}
ORDERS = "/orders/2026-01-01/orders"
FIRST_LOOK = timedelta(days=1)  # the first poll reads the orders changed in the last day
OVERLAP = timedelta(minutes=2)  # each poll reads again what changed in the two minutes before the last one seen


def _q(value: str) -> str:
    return quote(value, safe="")


class AmazonConnector(Connector):
    kind = "amazon"
    role = "marketplace"
    Settings = AmazonSettings
    flows = frozenset({"product", "price", "inventory", "order", "tracking"})
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = LABELS
    rate_limits: ClassVar[Mapping[str, RateLimit]] = RATES
    # Price and stock go one SKU at a time (patchListingsItem, 5 a second) unless more wait than that rate sends in
    # five minutes: then all of them (up to a feed's 25,000 messages, a SKU's price and stock in one message) go as
    # one JSON_LISTINGS_FEED. The engine decides from the queue's length, not the operator.
    batches: ClassVar[Mapping[str, BatchSpec]] = {
        flow: BatchSpec("createFeed", feeds.MAX_MESSAGES, "auto", 300.0, "patchListingsItem", together=True)
        for flow in ("price", "inventory")
    }
    # searchOrders allows one call every 180 s (0.0056/s) after a burst of 20: a poll every three minutes stays
    # within it for good, and ORDER_CHANGE notifications bring orders sooner.
    order_poll_every = 180.0
    oauth = True  # the website authorisation workflow; LWA asks no PKCE
    # The consent page sends the seller back with `spapi_oauth_code`, `state` and `selling_partner_id`
    # (developer-docs.amazon.com/sp-api/docs/website-authorization-workflow, step 4).
    code_parameter = "spapi_oauth_code"
    callback_extras = ("selling_partner_id",)

    def __init__(self, settings: ConnectorSettings, *, context: ConnectorContext) -> None:
        super().__init__(settings, context=context)
        assert isinstance(settings, AmazonSettings)
        self.config = settings
        self.api = AmazonApi(
            settings.api_url,
            settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            context=context,
            refresh=self.refresh_grant,
        )

    # -- what the platform asks ---------------------------------------------------------------------------
    @classmethod
    def consent_origin(cls, settings: Mapping[str, Any]) -> str | None:
        parts = urlsplit(str(settings.get("consent_url") or AmazonSettings.model_fields["consent_url"].default))
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None

    @classmethod
    def default_category(cls, store_category: str, settings: Mapping[str, Any]) -> str:
        """An unmapped store category is listed as the affiliate's default product type (PRODUCT): Amazon knows
        product types, not the store's categories."""
        return str(settings.get("product_type") or AmazonSettings.model_fields["product_type"].default)

    @classmethod
    def emulation(cls) -> Any:
        from ponte.connectors.amazon.emulation import AmazonEmulation

        return AmazonEmulation()

    # -- Login with Amazon: the website authorisation workflow ---------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None) -> str:
        """Seller Central's consent page for the app (`/apps/authorize/consent`; `version=beta` while it is a draft)."""
        if not self.config.application_id:
            raise ValueError("the affiliate needs the app's application ID (amzn1.sp.solution…) to connect")
        query = {"application_id": self.config.application_id, "state": state, "redirect_uri": redirect_uri}
        if self.config.draft_app:
            query["version"] = "beta"
        return f"{self.config.consent_url}/apps/authorize/consent?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> Grant:
        return self.api.token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh_grant(self, grant: Grant) -> Grant:
        if not grant.refresh_token:
            raise GrantRefused(say("msg.oauth.no_refresh_token", marketplace="Amazon"))
        fresh = self.api.token({"grant_type": "refresh_token", "refresh_token": grant.refresh_token})
        return Grant(fresh.access_token, fresh.refresh_token, fresh.expires_at, {**grant.extra, **fresh.extra})

    def identify(self) -> Identity:
        seller, marketplace = self.seller_id(), self.config.marketplace_id
        # Amazon names no seller in the models Ponte holds (the Sellers API is not among them): the store it sells in.
        name = "Amazon.com.br" if marketplace == BRAZIL else f"Amazon {marketplace}"
        return Identity(seller, name, {"marketplace_id": marketplace})

    def seller_id(self) -> str:
        """The merchant token: the affiliate's setting, else what the consent page said when the seller authorised."""
        grant = self.context.credentials.current()
        found = self.config.seller_id or str((grant.extra or {}).get("selling_partner_id") or "" if grant else "")
        if not SELLER_ID.match(found):
            missing = Outcome.error(
                say("msg.amazon.no_seller_id"),
                category="integration_config",
                disposition=Disposition.FIX,
                code="seller_id",
            )
            raise CallFailed(missing)
        return found

    def call(self, operation: str, method: str, path: str, **kwargs: Any) -> HttpResult:
        """A call as the seller; a private app's pasted refresh token is the first grant when none is stored."""
        try:
            return self.api.call(operation, method, path, **kwargs)
        except CredentialsMissing:
            if self.config.refresh_token is None:
                raise
            pasted = self.config.refresh_token.get_secret_value()
            self.context.credentials.store(Grant("", pasted, LONG_AGO))
            return self.api.call(operation, method, path, **kwargs)

    def test_connection(self) -> Outcome:
        seller = self.seller_id()
        params = {"marketplaceIds": [self.config.marketplace_id], "pageSize": 1}
        result = self.call("searchListingsItems", "GET", f"{LISTINGS}/{_q(seller)}", params=params)
        if not result.ok or not isinstance(result.body, dict):
            return failure(result, say("msg.op.read_listings", api="searchListingsItems"))
        total = result.body.get("numberOfResults")
        facts = {"seller": seller, "marketplace": self.config.marketplace_id, "listings": total}
        return Outcome.ok(say("msg.amazon.connected", **facts), **records(result))

    # -- listings -------------------------------------------------------------------------------------------
    def _item_path(self, sku: str) -> str:
        return f"{LISTINGS}/{_q(self.seller_id())}/{_q(sku)}"

    def _params(self, **more: Any) -> dict[str, Any]:
        return {"marketplaceIds": [self.config.marketplace_id], "issueLocale": self.config.language_tag, **more}

    def send_product(self, send: ProductSend) -> Outcome:
        return self._put(send, preview=False)

    def preview(self, send: ProductSend) -> Outcome:
        """putListingsItem with `mode=VALIDATION_PREVIEW`: Amazon's verdict on the listing, nothing kept."""
        return self._put(send, preview=True)

    def _put(self, send: ProductSend, *, preview: bool) -> Outcome:
        body = listings.put_body(send, self.config)
        params = self._params(mode="VALIDATION_PREVIEW") if preview else self._params()
        result = self.call("putListingsItem", "PUT", self._item_path(send.sku), json=body, params=params)
        answer = result.body if isinstance(result.body, dict) else None
        if not result.ok or answer is None or "status" not in answer:
            return failure(result, say("msg.op.list_sku", api="putListingsItem"))
        facts = {"product_type": body["productType"], "submission_id": answer.get("submissionId")}
        asin = _asin(answer)
        if asin:
            facts["asin"] = asin
        kept = records(result)
        if answer["status"] == "INVALID":
            outcome = issues_outcome(answer.get("issues") or [], "", **kept)
            if outcome.status.value != "error":  # INVALID with no ERROR issue: still refused
                outcome = Outcome.error(say("msg.amazon.invalid_unexplained", sku=send.sku), **kept)
            return outcome
        if preview:
            return issues_outcome(answer.get("issues") or [], say("msg.amazon.would_accept", sku=send.sku), **kept)
        listing = Listing(send.sku, facts)
        accepted = say("msg.amazon.accepted", submission=answer.get("submissionId"))
        issues = list(answer.get("issues") or [])
        if send.listing is not None:  # listed before: what Amazon found since is read back with the answer
            seen = {(i.get("code"), i.get("message")) for i in issues}
            issues += [i for i in self.listing_issues(send.sku) if (i.get("code"), i.get("message")) not in seen]
        outcome = issues_outcome(issues, accepted, **kept)
        outcome.listing, outcome.external_ref = listing, asin or send.sku
        return outcome

    def listing_issues(self, sku: str) -> list[dict[str, Any]]:
        """The issues Amazon holds against a listing (getListingsItem, includedData=issues): found after it accepted
        the listing (LISTINGS_ITEM_ISSUES_CHANGE tells when). A listing not readable now adds none. This is the
        listing's read-back: a platform reconciliation of listings would call it too."""
        params = self._params(includedData=["issues"])
        result = self.call("getListingsItem", "GET", self._item_path(sku), params=params)
        found = result.body.get("issues") if result.ok and isinstance(result.body, dict) else None
        return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []

    def _patch(self, sku: str, listing: Listing | None, patch: dict[str, Any], what: str) -> Outcome:
        product_type = str((listing.data if listing else {}).get("product_type") or self.config.product_type)
        body = {"productType": product_type, "patches": [patch]}
        result = self.call("patchListingsItem", "PATCH", self._item_path(sku), json=body, params=self._params())
        answer = result.body if isinstance(result.body, dict) else None
        if not result.ok or answer is None or "status" not in answer:
            return failure(result, say("msg.op.update_listing", what=say(f"msg.word.{what}"), api="patchListingsItem"))
        kept = records(result)
        accepted = say("msg.amazon.patch_accepted", what=say(f"msg.word.{what}"))
        outcome = issues_outcome(answer.get("issues") or [], accepted, **kept)
        if answer["status"] == "INVALID" and outcome.status.value != "error":
            outcome = Outcome.error(say("msg.amazon.patch_refused", what=say(f"msg.word.{what}"), sku=sku), **kept)
        return outcome

    def send_price(self, send: PriceSend) -> Outcome:
        if send.price is None:
            return Outcome.error(
                say("msg.send.no_price", sku=send.sku), category="price_rejected", disposition=Disposition.FIX
            )
        return self._patch(send.sku, send.listing, listings.price_patch(send.price, self.config), "price")

    def send_inventory(self, send: StockSend) -> Outcome:
        patch = listings.stock_patch(send.quantity, send.handling_days, self.config)
        return self._patch(send.sku, send.listing, patch, "stock")

    def read_listings(self, request: ReadRequest) -> ReadBack:
        """The seller's listings as Amazon holds them (readback.py: searchListingsItems, 20 a page)."""
        return readback.read(self, request)

    # -- many at once: JSON_LISTINGS_FEED ------------------------------------------------------------------
    def send_batch(self, flow: str, sends: list[Send]) -> BatchResult:
        return feeds.send(self, sends)

    def poll_submission(self, submission: SubmissionRef) -> SubmissionPoll:
        return feeds.poll(self, submission)

    # -- orders -------------------------------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> FetchedOrders:
        """The orders changed since the last poll (`lastUpdatedAfter`), a page of 100 at a time. The cursor keeps
        the time the next poll starts from and, within a poll, the page token."""
        since, _, token = (cursor or "").partition("|")
        since = since or (now() - FIRST_LOOK).isoformat(timespec="seconds")
        params: dict[str, Any] = {
            "marketplaceIds": [self.config.marketplace_id],
            "includedData": orders.INCLUDED,
            "maxResultsPerPage": 100,
        }
        if token:
            params["paginationToken"] = token
        else:
            params["lastUpdatedAfter"] = since
        result = self.call("searchOrders", "GET", ORDERS, params=params)
        if not result.ok or not isinstance(result.body, dict):
            return FetchedOrders([], cursor, outcome=failure(result, say("msg.op.read_orders", api="searchOrders")))
        raw = [o for o in result.body.get("orders") or [] if isinstance(o, dict) and o.get("orderId")]
        found = [order for order in map(orders.incoming_order, raw) if order is not None]
        latest = orders.newest(raw, since)
        following = (result.body.get("pagination") or {}).get("nextToken")
        if following:
            read = Outcome.ok(say("msg.amazon.orders_read", n=len(raw)))
            return FetchedOrders(found, f"{since}|{following}", outcome=read, more=True)
        restart = max(orders.instant(since), orders.instant(latest) - OVERLAP)
        read = Outcome.ok(say("msg.amazon.orders_read", n=len(raw)))
        return FetchedOrders(found, restart.isoformat(timespec="seconds"), outcome=read)

    @classmethod
    def read_notification(cls, body: bytes, headers: Mapping[str, str]) -> Notice | None:
        return notifications.read(body)

    def resolve(self, notice: Notice) -> Resolved:
        """ORDER_CHANGE: the order, read with getOrder. LISTINGS_ITEM_ISSUES_CHANGE: the SKU's product is sent again,
        and that send reads the issues Amazon now has (`_put`), so they become its next attempt."""
        if notice.topic == notifications.LISTINGS_ITEM_ISSUES_CHANGE:
            return Resolved(resend=[("product", notice.resource)])
        if notice.topic != notifications.ORDER_CHANGE:
            return Resolved()
        params = {"includedData": orders.INCLUDED}
        result = self.call("getOrder", "GET", f"{ORDERS}/{_q(notice.resource)}", params=params)
        if not result.ok or not isinstance(result.body, dict) or not isinstance(result.body.get("order"), dict):
            return Resolved(outcome=failure(result, say("msg.op.read_order", order=notice.resource, api="getOrder")))
        order = orders.incoming_order(result.body["order"])
        return Resolved(orders=[order] if order else [])

    def send_tracking(self, send: TrackingSend) -> Outcome:
        """confirmShipment (Orders v0): carrier, tracking number and the items shipped; 204 when Amazon took it."""
        if not send.tracking_number:
            return Outcome.error(
                say("msg.tracking.missing", order=send.order_id, marketplace="Amazon"),
                category="invoice_tracking_rejected", disposition=Disposition.FIX, code="trackingNumber",
            )  # fmt: skip
        carrier = self.config.carriers.get(send.carrier or "", send.carrier or "Other")
        body = orders.confirmation(
            send,
            marketplace_id=str(send.marketplace_data.get("marketplace_id") or self.config.marketplace_id),
            carrier=carrier,
            ship_date=now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        if not body["packageDetail"]["orderItems"]:
            return Outcome.error(
                say("msg.amazon.no_order_items", order=send.order_id),
                category="state_conflict", disposition=Disposition.TERMINAL, code="orderItemId",
            )  # fmt: skip
        path = f"/orders/v0/orders/{_q(send.order_id)}/shipmentConfirmation"
        result = self.call("confirmShipment", "POST", path, json=body)
        if not result.ok:
            return failure(result, say("msg.op.confirm_shipment", api="confirmShipment"))
        said = say("msg.amazon.shipment_confirmed", carrier=carrier, tracking=send.tracking_number)
        return Outcome.ok(said, **records(result))

    def close(self) -> None:
        self.api.close()


def _asin(answer: Mapping[str, Any]) -> str | None:
    """The ASIN a submission's answer names (`identifiers[].asin`), when Amazon already matched one."""
    for entry in answer.get("identifiers") or []:
        if isinstance(entry, dict) and entry.get("asin"):
            return str(entry["asin"])
    return None
