"""The Mercado Livre connector: Mercado Livre's real API (mercadolivre.md), for a seller who authorised Ponte.

Listings are created (`POST /items`, then the description) or updated with only what changed (`PUT /items/{id}`);
a SKU the seller listed by hand is found by its SELLER_SKU and linked, never listed twice. Price and stock update
the item (stock goes to the User Products endpoint for multi-origin sellers). Orders come by `orders_v2`
notifications and a safety-net search; the NF-e XML goes to the ME2 shipment, the tracking number to ME1's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlencode, urlsplit

from pydantic import Field, SecretStr, field_validator

from ponte.clock import now
from ponte.connectors.base import (
    CallFailed,
    Connector,
    ConnectorSettings,
    FetchedOrders,
    Grant,
    GrantRefused,
    Identity,
    Listing,
    ListingRules,
    MarketplaceAttribute,
    MarketplaceCategory,
    Notice,
    Outcome,
    PriceSend,
    ProductSend,
    RateLimit,
    ReadBack,
    ReadRequest,
    Resolved,
    StockSend,
    TrackingSend,
    http_url,
    notice_body,
)
from ponte.connectors.context import ConnectorContext
from ponte.connectors.http import HttpResult
from ponte.connectors.mercadolivre import listing, orders, readback, taxonomy
from ponte.connectors.mercadolivre.api import MeliApi, error_outcome, records, success_outcome
from ponte.domain import Disposition, Status
from ponte.domain.messages import Message, say

CURRENCIES = {"MLB": "BRL", "MLA": "ARS", "MLM": "MXN", "MLC": "CLP", "MCO": "COP", "MLU": "UYU", "MPE": "PEN"}
ORDER_RESOURCE = re.compile(r"^/orders/(\d{1,20})$")
NOTIFIED_TOPICS = {"orders_v2", "orders"}  # orders_v2 is the recommended one (mercadolivre.md § 6)
MULTI_ORIGIN_TAGS = {"warehouse_management", "multiwarehouse"}  # [O] mercadolivre.md § 1
NEW_FORMAT = {"x-format-new": "true"}  # shipments in their current shape (mercadolivre.md § 5)


class MercadoLivreSettings(ConnectorSettings):
    client_id: str = Field(min_length=1, max_length=64)  # the app's ID (App ID / Client ID)
    client_secret: SecretStr
    api_url: str = "https://api.mercadolibre.com"
    auth_url: str = "https://auth.mercadolivre.com.br"  # the consent page's host (per country) [S]
    site_id: Literal["MLB", "MLA", "MLM", "MLC", "MCO", "MLU", "MPE"] = "MLB"
    listing_type_id: Literal["gold_special", "gold_pro", "free"] = "gold_special"  # Clássico, Premium
    condition: Literal["new", "used"] = "new"
    shipping_mode: Literal["me2", "me1", "custom", "not_specified"] = "me2"
    stock_mode: Literal["auto", "items", "user_products"] = "auto"  # auto: User Products for multi-origin sellers
    me1_service_ids: dict[str, int] = Field(default_factory=dict, max_length=100)  # carrier → service_id (ME1)
    # The app's share of Mercado Livre's per-application limit, which it does not publish (429 beyond it).
    requests_per_second: float = Field(default=10.0, gt=0, le=1000)

    @field_validator("api_url", "auth_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return http_url(value)


def _q(value: Any) -> str:
    return quote(str(value), safe="")


class MercadoLivreConnector(Connector):
    kind = "mercadolivre"
    role = "marketplace"
    Settings = MercadoLivreSettings
    flows = frozenset({"product", "price", "inventory", "tracking", "order"})
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "pt-BR": {
            "name": "Mercado Livre",
            "connect": "Conectar com o Mercado Livre",
            "setting.client_id": "App ID (Client ID)",
            "setting.client_secret": "Chave secreta do app",
            "setting.api_url": "URL da API",
            "setting.auth_url": "URL de autorização",
            "setting.site_id": "Site",
            "setting.listing_type_id": "Tipo de anúncio (gold_special = Clássico, gold_pro = Premium)",
            "setting.condition": "Condição (new, used)",
            "setting.shipping_mode": "Modo de envio (me2 = Mercado Envios)",
            "setting.stock_mode": "Estoque (auto, items, user_products)",
            "setting.me1_service_ids": "Transportadoras ME1 (JSON: nome → service_id)",
            "setting.requests_per_second": "Requisições por segundo do app",
            "help.client_id": "Do app criado no DevCenter do Mercado Livre; cadastre nele a URL de retorno "
            "<Ponte>/oauth/callback/mercadolivre e a de notificações <Ponte>/notifications/mercadolivre.",
        },
        "en": {
            "name": "Mercado Livre",
            "connect": "Connect with Mercado Livre",
            "setting.client_id": "App ID (Client ID)",
            "setting.client_secret": "App secret key",
            "setting.api_url": "API URL",
            "setting.auth_url": "Authorisation URL",
            "setting.site_id": "Site",
            "setting.listing_type_id": "Listing type (gold_special = Classic, gold_pro = Premium)",
            "setting.condition": "Condition (new, used)",
            "setting.shipping_mode": "Shipping mode (me2 = Mercado Envios)",
            "setting.stock_mode": "Stock (auto, items, user_products)",
            "setting.me1_service_ids": "ME1 carriers (JSON: name → service_id)",
            "setting.requests_per_second": "The app's requests per second",
            "help.client_id": "From the app created in Mercado Livre's DevCenter; register in it the redirect URI "
            "<Ponte>/oauth/callback/mercadolivre and the notifications URL <Ponte>/notifications/mercadolivre.",
        },
        "es": {
            "name": "Mercado Libre",
            "connect": "Conectar con Mercado Libre",
            "setting.client_id": "App ID (Client ID)",
            "setting.client_secret": "Clave secreta de la app",
            "setting.api_url": "URL de la API",
            "setting.auth_url": "URL de autorización",
            "setting.site_id": "Sitio",
            "setting.listing_type_id": "Tipo de publicación (gold_special = Clásica, gold_pro = Premium)",
            "setting.condition": "Condición (new, used)",
            "setting.shipping_mode": "Modo de envío (me2 = Mercado Envíos)",
            "setting.stock_mode": "Stock (auto, items, user_products)",
            "setting.me1_service_ids": "Transportistas ME1 (JSON: nombre → service_id)",
            "setting.requests_per_second": "Solicitudes por segundo de la app",
            "help.client_id": "De la app creada en el DevCenter de Mercado Libre; registre en ella la URL de retorno "
            "<Ponte>/oauth/callback/mercadolivre y la de notificaciones <Ponte>/notifications/mercadolivre.",
        },
    }
    # Per application, numbers unpublished (developers.mercadolivre.com.br/rate-limit-erro-429): one bucket shared
    # by every store connected through the app, at the rate the settings give it.
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {"api": RateLimit(rate=10.0, burst=20.0, scope="app")}
    order_poll_every = 900.0  # the safety net under the orders_v2 notifications
    oauth = True
    pkce = True  # optional for the app, mandatory once enabled in it; always sending it works for both [S]

    def __init__(self, settings: ConnectorSettings, *, context: ConnectorContext) -> None:
        super().__init__(settings, context=context)
        assert isinstance(settings, MercadoLivreSettings)
        self.config = settings
        self.api = MeliApi(
            settings.api_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            context=context,
            refresh=self.refresh_grant,
        )
        self._me: dict[str, Any] | None = None
        self._uid: str | None = None

    # -- what the platform asks ---------------------------------------------------------------------------
    @classmethod
    def rates(cls, settings: ConnectorSettings) -> Mapping[str, RateLimit]:
        assert isinstance(settings, MercadoLivreSettings)
        rate = settings.requests_per_second
        return {"api": RateLimit(rate=rate, burst=max(1.0, rate * 2), scope="app")}

    @classmethod
    def app_scope(cls, settings: ConnectorSettings) -> str:
        assert isinstance(settings, MercadoLivreSettings)
        return settings.client_id

    @classmethod
    def consent_origin(cls, settings: Mapping[str, Any]) -> str | None:
        parts = urlsplit(str(settings.get("auth_url") or MercadoLivreSettings.model_fields["auth_url"].default))
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None

    @classmethod
    def emulation(cls) -> Any:
        from ponte.connectors.mercadolivre.emulation import MercadoLivreEmulation

        return MercadoLivreEmulation()

    @classmethod
    def read_notification(cls, body: bytes, headers: Mapping[str, str]) -> Notice | None:
        """`{"resource": "/orders/2195160686", "user_id": 123456789, "topic": "orders_v2", …}` (mercadolivre.md
        § 6). Only order topics are kept, and only a resource that names an order: it is fetched later with the
        seller's token, so nothing else in the (unsigned) body is believed."""
        data = notice_body(body)
        topic, resource, user = data.get("topic"), data.get("resource"), data.get("user_id")
        if topic not in NOTIFIED_TOPICS or not isinstance(resource, str) or not ORDER_RESOURCE.match(resource):
            return None
        if not isinstance(user, int | str) or not str(user).isdigit():
            raise ValueError("user_id is not a Mercado Livre user id")
        return Notice(subject=str(user), topic=str(topic), resource=resource)

    # -- OAuth (developers.mercadolivre.com.br/pt_br/autenticacao-e-autorizacao) ------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None) -> str:
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if code_challenge:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.config.auth_url}/authorization?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> Grant:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        return self.api.token(form)

    def refresh_grant(self, grant: Grant) -> Grant:
        if not grant.refresh_token:  # the app was not granted offline_access
            raise GrantRefused(say("msg.oauth.no_refresh_token_offline", marketplace="Mercado Livre"))
        return self.api.token({"grant_type": "refresh_token", "refresh_token": grant.refresh_token})

    def identify(self) -> Identity:
        me = self._seller(fresh=True)
        return Identity(
            str(me["id"]),
            str(me.get("nickname") or me["id"]),
            {"tags": me.get("tags") or [], "site_id": me.get("site_id")},
        )

    def test_connection(self) -> Outcome:
        me = self._seller(fresh=True)
        return Outcome.ok(say("msg.meli.connected", nickname=me.get("nickname"), id=me["id"]))

    def _seller(self, *, fresh: bool = False) -> dict[str, Any]:
        """`GET /users/me`: the seller's id, nickname and tags (read once per instance)."""
        if self._me is None or fresh:
            result = self.api.call("api", "GET", "/users/me")
            if not result.ok or not isinstance(result.body, dict) or "id" not in result.body:
                raise CallFailed(error_outcome(result) if not result.ok else self._broken(result))
            self._me = result.body
        return self._me

    def _user_id(self) -> str:
        """The seller's user id: from the token answer Ponte keeps, else `/users/me` (once per instance)."""
        if self._uid is None:
            grant = self.context.credentials.current()
            user = (grant.extra or {}).get("user_id") if grant else None
            self._uid = str(user) if user else str(self._seller()["id"])
        return self._uid

    def user_id_quoted(self) -> str:
        return _q(self._user_id())

    def broken(self, result: HttpResult) -> Outcome:
        return self._broken(result)

    def read_listings(self, request: ReadRequest) -> ReadBack:
        """The seller's items as Mercado Livre holds them (readback.py: the scan, then the multiget)."""
        return readback.read(self, request)

    @staticmethod
    def _broken(result: HttpResult) -> Outcome:
        return Outcome.error(say("msg.meli.undocumented"), transient=True, **records(result))

    # -- the catalog's structure (taxonomy.py) ---------------------------------------------------------------
    def category_tree(self) -> list[MarketplaceCategory]:
        return taxonomy.tree(self.api, self.config.site_id)

    def category_attributes(self, category_ids: list[str]) -> dict[str, list[MarketplaceAttribute]]:
        return {category_id: taxonomy.attributes(self.api, category_id) for category_id in category_ids}

    def predict_category(self, title: str) -> list[MarketplaceCategory]:
        return taxonomy.predict(self.api, self.config.site_id, title)

    @classmethod
    def listing_rules(cls, settings: Mapping[str, Any]) -> ListingRules:
        # Title and pictures as the items API refuses them (mercadolivre.md § 2 and § 3).
        return ListingRules(
            title_max=listing.TITLE_LIMIT,
            pictures_min=1,
            pictures_max=listing.MAX_PICTURES,
            picture_extensions=(".jpg", ".jpeg", ".png", ".webp"),
        )

    @classmethod
    def default_category(cls, store_category: str, settings: Mapping[str, Any]) -> str:
        return listing.site_category(store_category, str(settings.get("site_id") or "MLB"))

    @classmethod
    def sent_attributes(cls, send: ProductSend, settings: Mapping[str, Any]) -> Mapping[str, str]:
        return {a["id"]: a["value_name"] for a in listing.attributes(send)}

    # -- products -----------------------------------------------------------------------------------------
    def send_product(self, send: ProductSend) -> Outcome:
        found = send.listing or self._listed_by_hand(send.sku)
        if found is None:
            return self._create(send)
        outcome = self._update(send, found)
        if outcome.http_status == 404:  # the item is gone from Mercado Livre: list it again
            return self._create(send)
        return outcome

    def _listed_by_hand(self, sku: str) -> Listing | None:
        """A listing the seller made without Ponte, found by SELLER_SKU (`GET /users/{id}/items/search`)."""
        path = f"/users/{_q(self._user_id())}/items/search"
        result = self.api.call("api", "GET", path, params={"seller_sku": sku})
        if not result.ok:
            raise CallFailed(error_outcome(result))
        ids = result.body.get("results") if isinstance(result.body, dict) else None
        return Listing(str(ids[0]), {"linked": True}) if ids else None

    def _create(self, send: ProductSend) -> Outcome:
        body = listing.new_item(
            send,
            site_id=self.config.site_id,
            currency=CURRENCIES[self.config.site_id],
            listing_type=self.config.listing_type_id,
            condition=self.config.condition,
            shipping_mode=self.config.shipping_mode,
        )
        result = self.api.call("api", "POST", "/items", json=body)
        if not result.ok:
            return error_outcome(result)
        item = result.body if isinstance(result.body, dict) else {}
        item_id = str(item.get("id") or "")
        if not item_id:
            return self._broken(result)
        facts = {
            "status": item.get("status"),
            "user_product_id": item.get("user_product_id"),
            "permalink": item.get("permalink"),
            "sent": listing.sent_facts(body, send.description),
        }
        made = Listing(item_id, facts)
        outcome = success_outcome(result, say("msg.meli.listed", item=item_id), listing=made, external_ref=item_id)
        if send.description:
            described = self.api.call(
                "api", "POST", f"/items/{_q(item_id)}/description", json={"plain_text": send.description}
            )
            if not described.ok:
                refused = error_outcome(described)
                return Outcome.warning(
                    say("msg.meli.description_refused", item=item_id, reply=refused.words),
                    code=refused.code, listing=made, external_ref=item_id, **records(described),
                )  # fmt: skip
        if item.get("status") == "under_review" and outcome.status == Status.SUCCESS:
            outcome.status = Status.WARNING
            outcome.say(say("msg.meli.under_review", item=item_id))
        return outcome

    def _update(self, send: ProductSend, found: Listing) -> Outcome:
        item_id = found.listing_id
        sent = dict(found.data.get("sent") or {})
        body, description_changed = listing.changes(send, sent, site_id=self.config.site_id)
        # Paused by Ponte, or found paused by reconciliation (`held`: paused in the seller's portal, say).
        held = (found.data.get("held") or {}).get("status")
        paused = (held or found.data.get("status")) == "paused"
        if not send.active and not paused:
            body["status"] = "paused"
        elif send.active and paused:
            body["status"] = "active"
        facts = {k: v for k, v in found.data.items() if k not in ("linked", "held")}
        result: HttpResult | None = None
        if body:
            result = self.api.call("api", "PUT", f"/items/{_q(item_id)}", json=body)
            if not result.ok:
                return error_outcome(result)
            if isinstance(result.body, dict):
                facts["status"] = result.body.get("status", body.get("status", facts.get("status")))
                facts["user_product_id"] = result.body.get("user_product_id", facts.get("user_product_id"))
        if description_changed:
            text = {"plain_text": send.description or ""}
            described = self.api.call("api", "PUT", f"/items/{_q(item_id)}/description", json=text)
            if not described.ok:
                return error_outcome(described)
            result = result or described
        wanted = listing.new_item(
            send, site_id=self.config.site_id, currency="", listing_type="", condition="", shipping_mode=""
        )
        kept = Listing(item_id, {**facts, "sent": listing.sent_facts(wanted, send.description)})
        if result is None:
            return Outcome.ok(say("msg.meli.up_to_date", item=item_id), listing=kept, external_ref=item_id)
        return success_outcome(result, say("msg.meli.updated", item=item_id), listing=kept, external_ref=item_id)

    # -- price and stock ----------------------------------------------------------------------------------
    def _not_listed(self, sku: str) -> Outcome:
        return Outcome.error(
            say("msg.meli.not_listed", sku=sku),
            category="sku_not_linked",
            disposition=Disposition.FIX,
            code="item.not_found",
        )

    def send_price(self, send: PriceSend) -> Outcome:
        if send.listing is None:
            return self._not_listed(send.sku)
        if send.price is None:
            return Outcome.error(
                say("msg.send.no_price", sku=send.sku), category="sku_not_sellable", disposition=Disposition.FIX
            )
        item_id = send.listing.listing_id
        result = self.api.call("api", "PUT", f"/items/{_q(item_id)}", json={"price": float(send.price)})
        if not result.ok:
            return error_outcome(result)
        return success_outcome(result, say("msg.meli.price_set", item=item_id, price=send.price), external_ref=item_id)

    def send_inventory(self, send: StockSend) -> Outcome:
        if send.listing is None:
            return self._not_listed(send.sku)
        item_id = send.listing.listing_id
        product = send.listing.data.get("user_product_id")
        if product and self._multi_origin():
            # Multi-origin accounts: stock on /items is ignored or refused; it goes to the User Product
            # (developers.mercadolibre.com.mx/es_mx/stock-multiwarehouse; mercadolivre.md § 2).
            path = f"/user-products/{_q(product)}/stock/type/seller_warehouse"
            result = self.api.call("api", "PUT", path, json={"quantity": send.quantity})
            where: str | Message = say("msg.meli.user_product", product=product)
        else:
            result = self.api.call("api", "PUT", f"/items/{_q(item_id)}", json={"available_quantity": send.quantity})
            where = item_id
        if not result.ok:
            return error_outcome(result)
        return success_outcome(
            result, say("msg.meli.stock_set", where=where, quantity=send.quantity), external_ref=item_id
        )

    def _multi_origin(self) -> bool:
        if self.config.stock_mode != "auto":
            return self.config.stock_mode == "user_products"
        return bool(MULTI_ORIGIN_TAGS & set(self._seller().get("tags") or []))

    # -- orders -------------------------------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> FetchedOrders:
        """Paid orders changed since the cursor, oldest first (`GET /orders/search`)."""
        since, offset = orders.read_cursor(cursor, now())
        params = {
            "seller": self._user_id(),
            "order.status": "paid",
            "order.date_last_updated.from": orders.ml_time(since),
            "sort": "date_asc",
            "limit": orders.SEARCH_PAGE,
            "offset": offset,
        }
        result = self.api.call("api", "GET", "/orders/search", params=params)
        if not result.ok or not isinstance(result.body, dict):
            return FetchedOrders([], cursor, outcome=error_outcome(result) if not result.ok else self._broken(result))
        page = [o for o in result.body.get("results") or [] if isinstance(o, dict) and o.get("id")]
        total = int((result.body.get("paging") or {}).get("total") or 0)
        more = len(page) == orders.SEARCH_PAGE and offset + len(page) < total
        found = [self._incoming(order) for order in page if order.get("status") in orders.PLACEABLE]
        return FetchedOrders(found, orders.next_cursor(since, offset, page, more=more), more=more)

    def resolve(self, notice: Notice) -> Resolved:
        """Read a notified order with the seller's token; one not paid yet is left for its next notification."""
        match = ORDER_RESOURCE.match(notice.resource)
        if match is None:
            return Resolved()
        result = self.api.call("api", "GET", f"/orders/{match.group(1)}")
        if result.status == 404:
            return Resolved()  # not this seller's, or gone: nothing to record
        if not result.ok or not isinstance(result.body, dict):
            return Resolved(outcome=error_outcome(result) if not result.ok else self._broken(result))
        if result.body.get("status") not in orders.PLACEABLE:
            return Resolved()
        return Resolved(orders=[self._incoming(result.body)])

    def _incoming(self, order: dict[str, Any]) -> dict[str, Any]:
        shipment_id = (order.get("shipping") or {}).get("id")
        shipment = self._read(f"/shipments/{_q(shipment_id)}", headers=NEW_FORMAT) if shipment_id else None
        billing = self._read(f"/orders/{_q(order['id'])}/billing_info")
        return orders.incoming(order, shipment, billing)

    def _read(self, path: str, headers: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        result = self.api.call("api", "GET", path, headers=headers)
        if result.status == 404:
            return None
        if not result.ok or not isinstance(result.body, dict):
            raise CallFailed(error_outcome(result) if not result.ok else self._broken(result))
        return result.body

    # -- invoice and tracking -----------------------------------------------------------------------------
    def send_tracking(self, send: TrackingSend) -> Outcome:
        shipment_id = send.marketplace_data.get("shipment_id")
        if not shipment_id:
            return Outcome.error(
                say("msg.meli.no_shipment", order=send.order_id),
                category="state_conflict", disposition=Disposition.TERMINAL, code="shipment.not_found",
            )  # fmt: skip
        mode = send.marketplace_data.get("logistic_mode")
        if not mode:
            shipment = self._read(f"/shipments/{_q(shipment_id)}", headers=NEW_FORMAT) or {}
            mode = (shipment.get("logistic") or {}).get("mode") or shipment.get("mode")
        if mode == "me1":
            return self._me1_tracking(send, shipment_id)
        return self._invoice(send, shipment_id)

    def _invoice(self, send: TrackingSend, shipment_id: Any) -> Outcome:
        """The NF-e XML to the shipment: `POST /shipments/{id}/invoice_data?siteId=MLB`, raw XML (several independent
        clients; mercadolivre.md § 5). The pack's other orders share the shipment: one upload serves them all."""
        if not send.invoice_xml:
            return Outcome.error(
                say("msg.meli.invoice_xml_missing", order=send.order_id),
                category="invoice_tracking_rejected", disposition=Disposition.FIX, code="shipment.invoice.xml_missing",
            )  # fmt: skip
        path = f"/shipments/{_q(shipment_id)}/invoice_data"
        params = {"siteId": self.config.site_id}
        headers = {"Content-Type": "application/xml;charset=UTF-8"}
        result = self.api.call("api", "POST", path, params=params, content=send.invoice_xml.encode(), headers=headers)
        if result.ok:
            return success_outcome(
                result, say("msg.meli.invoice_sent", invoice=send.invoice_key or "", shipment=shipment_id)
            )
        refused = error_outcome(result)
        if result.status == 409 and refused.code == "shipment.invoice.already_uploaded":
            # The pack's other order sent it: the shipment has its NF-e. A warning, so that a different NF-e sent by
            # someone else would still be looked at.
            refused.status, refused.category, refused.disposition = Status.WARNING, None, None
            refused.say(say("msg.meli.invoice_already", shipment=shipment_id, reply=refused.words))
        return refused

    def _me1_tracking(self, send: TrackingSend, shipment_id: Any) -> Outcome:
        """ME1: the seller's own carrier; `POST /shipments/{id}/seller_notifications` with the tracking number
        (mercadolivre.md § 5, the official ME1 states page)."""
        if not send.tracking_number:
            return Outcome.error(
                say("msg.tracking.none", order=send.order_id), category="invoice_tracking_rejected",
                disposition=Disposition.FIX, code="shipment.tracking_number.missing",
            )  # fmt: skip
        service = self.config.me1_service_ids.get(send.carrier or "")
        if service is None:
            return Outcome.error(
                say("msg.meli.no_service_id", carrier=repr(send.carrier)),
                category="integration_config", disposition=Disposition.FIX, code="shipment.service_id.missing",
            )  # fmt: skip
        body = {
            "payload": {
                "service_id": service,
                "comment": "despachado",
                "date": now().isoformat(timespec="milliseconds"),
            },
            "tracking_number": send.tracking_number,
            "status": "shipped",
            "substatus": None,
        }
        result = self.api.call("api", "POST", f"/shipments/{_q(shipment_id)}/seller_notifications", json=body)
        if not result.ok:
            return error_outcome(result)
        return success_outcome(
            result, say("msg.meli.tracking_sent", tracking=send.tracking_number, shipment=shipment_id)
        )

    def close(self) -> None:
        self.api.close()
