"""The Amazon connector: the Selling Partner API (amazon-sp-api.md), for a seller who authorised Ponte's app.

What it does, operation by operation (operationIds of the models in spec/):
- product: putListingsItem with the product type and the attributes it asks for (listings.py); the answer's
  `status` and `issues[]` decide the attempt (ERROR fails it in Amazon's words, WARNING makes it "com aviso");
- price and stock: patchListingsItem (`purchasable_offer`, `fulfillment_availability`) one SKU at a time;
- the connection test: searchListingsItems (one listing), which proves the token and the seller id together.
Each operation's default usage plan (the rate and burst printed in its description in the models) is declared
below, so the shared buckets hold every worker to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from ponte.connectors.amazon import listings
from ponte.connectors.amazon.api import AmazonApi
from ponte.connectors.amazon.errors import failure, issues_outcome, records
from ponte.connectors.amazon.settings import LABELS, AmazonSettings
from ponte.connectors.base import (
    CallFailed,
    Connector,
    ConnectorSettings,
    Grant,
    GrantRefused,
    Identity,
    Listing,
    Outcome,
    PriceSend,
    ProductSend,
    RateLimit,
    StockSend,
)
from ponte.connectors.context import ConnectorContext, CredentialsMissing
from ponte.connectors.http import HttpResult
from ponte.domain import Disposition

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
}


def _q(value: str) -> str:
    return quote(value, safe="")


class AmazonConnector(Connector):
    kind = "amazon"
    role = "marketplace"
    Settings = AmazonSettings
    flows = frozenset({"product", "price", "inventory"})
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = LABELS
    rate_limits: ClassVar[Mapping[str, RateLimit]] = RATES
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
            raise GrantRefused("Amazon gave no refresh token: connect the affiliate again")
        fresh = self.api.token({"grant_type": "refresh_token", "refresh_token": grant.refresh_token})
        return Grant(fresh.access_token, fresh.refresh_token, fresh.expires_at, {**grant.extra, **fresh.extra})

    def identify(self) -> Identity:
        seller = self.seller_id()
        return Identity(seller, f"Amazon seller {seller}", {"marketplace_id": self.config.marketplace_id})

    def seller_id(self) -> str:
        """The merchant token: the affiliate's setting, else what the consent page said when the seller authorised."""
        grant = self.context.credentials.current()
        found = self.config.seller_id or str((grant.extra or {}).get("selling_partner_id") or "" if grant else "")
        if not SELLER_ID.match(found):
            missing = Outcome.error(
                "The Amazon affiliate has no seller ID: connect it with Amazon, or fill in the seller ID "
                "(merchant token) with the refresh token of a private app",
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
            return failure(result, "reading the seller's listings (searchListingsItems)")
        total = result.body.get("numberOfResults")
        return Outcome.ok(
            f"Connected to Amazon as seller {seller} (marketplace {self.config.marketplace_id}): {total} listing(s)",
            **records(result),
        )

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
            return failure(result, "listing the SKU (putListingsItem)")
        facts = {"product_type": body["productType"], "submission_id": answer.get("submissionId")}
        asin = _asin(answer)
        if asin:
            facts["asin"] = asin
        kept = records(result)
        if answer["status"] == "INVALID":
            outcome = issues_outcome(answer.get("issues") or [], "", **kept)
            if outcome.status.value != "error":  # INVALID with no ERROR issue: still refused
                outcome = Outcome.error(f"Amazon refused SKU {send.sku} (INVALID) without saying why", **kept)
            return outcome
        if preview:
            return issues_outcome(answer.get("issues") or [], f"Amazon would accept SKU {send.sku} (VALID)", **kept)
        listing = Listing(send.sku, facts)
        accepted = f"Accepted by Amazon for processing (submission {answer.get('submissionId')})"
        outcome = issues_outcome(answer.get("issues") or [], accepted, **kept)
        outcome.listing, outcome.external_ref = listing, asin or send.sku
        return outcome

    def _patch(self, sku: str, listing: Listing | None, patch: dict[str, Any], what: str) -> Outcome:
        product_type = str((listing.data if listing else {}).get("product_type") or self.config.product_type)
        body = {"productType": product_type, "patches": [patch]}
        result = self.call("patchListingsItem", "PATCH", self._item_path(sku), json=body, params=self._params())
        answer = result.body if isinstance(result.body, dict) else None
        if not result.ok or answer is None or "status" not in answer:
            return failure(result, f"updating the {what} (patchListingsItem)")
        kept = records(result)
        outcome = issues_outcome(answer.get("issues") or [], f"{what.capitalize()} accepted by Amazon", **kept)
        if answer["status"] == "INVALID" and outcome.status.value != "error":
            outcome = Outcome.error(f"Amazon refused the {what} of SKU {sku} (INVALID)", **kept)
        return outcome

    def send_price(self, send: PriceSend) -> Outcome:
        if send.price is None:
            return Outcome.error(
                f"SKU {send.sku} has no price to send", category="price_rejected", disposition=Disposition.FIX
            )
        return self._patch(send.sku, send.listing, listings.price_patch(send.price, self.config), "price")

    def send_inventory(self, send: StockSend) -> Outcome:
        patch = listings.stock_patch(send.quantity, send.handling_days, self.config)
        return self._patch(send.sku, send.listing, patch, "stock")

    def close(self) -> None:
        self.api.close()


def _asin(answer: Mapping[str, Any]) -> str | None:
    """The ASIN a submission's answer names (`identifiers[].asin`), when Amazon already matched one."""
    for entry in answer.get("identifiers") or []:
        if isinstance(entry, dict) and entry.get("asin"):
            return str(entry["asin"])
    return None
