"""The sandbox marketplace connector: speaks to `ponte sandbox` (any of its profiles) over HTTP.

It is also the model for a real marketplace connector: get and cache a token, send each flow's payload,
and turn the answer into an Outcome that keeps the marketplace's own words.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import SecretStr, field_validator

from ponte.connectors.base import (
    Connector,
    ConnectorSettings,
    FetchedOrders,
    Outcome,
    PriceSend,
    ProductSend,
    StockSend,
    TrackingSend,
    http_url,
)
from ponte.connectors.failures import common_failure
from ponte.connectors.http import HttpClient, HttpResult, records
from ponte.domain import Disposition, Status
from ponte.domain.messages import Message, say

FEED_PAGE = 50


class SandboxSettings(ConnectorSettings):
    base_url: str  # the sandbox server, e.g. http://127.0.0.1:8765
    profile: str = "magalu"  # a profile of the sandbox (magalu)
    client_id: str
    client_secret: SecretStr
    seller_id: str | None = None  # informational: the token says which seller this is

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("profile")
    @classmethod
    def _simple_name(cls, value: str) -> str:
        if not value.replace("_", "").isalnum():
            raise ValueError("profile must be a plain name like magalu")
        return value


def body_message(body: Any, status: int | None) -> tuple[str, str | None]:
    """(message, code) from an answer body, whatever its shape; the message is kept verbatim."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            body = error
        message = body.get("message") or body.get("mensagem") or body.get("error_description")
        if not message and isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0]
            message = first.get("message") if isinstance(first, dict) else str(first)
        code = body.get("code") or (error if isinstance(error, str) else None)
        if message:
            return str(message), None if code is None else str(code)
    if isinstance(body, str) and body.strip():
        return body.strip()[:1000], None
    return f"HTTP {status}", None


def outcome_from_result(result: HttpResult, message: str | Message = "", external_ref: str | None = None) -> Outcome:
    """The Outcome of one exchange: transport trouble, 429 and 5xx are transient; other errors keep their words."""
    record = records(result)
    text, code = body_message(result.body, result.status)
    if result.ok:
        warnings = result.body.get("warnings") if isinstance(result.body, dict) else None
        if warnings:
            remarks = [w.get("message", str(w)) if isinstance(w, dict) else str(w) for w in warnings]
            first_code = warnings[0].get("code") if isinstance(warnings[0], dict) else None
            return Outcome.warning("; ".join(remarks), code=first_code, external_ref=external_ref, **record)
        return Outcome.ok(message, external_ref=external_ref, **record)
    common = common_failure(result, text, code)
    if common is not None:
        return common
    # A 4xx in the marketplace's own words: the knowledge base decides what it means.
    return Outcome.error(text, code=code, **record)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def product_body(send: ProductSend) -> dict[str, Any]:
    """A SKU's catalog data as the sandbox takes it on `PUT /items/{sku}`."""
    return {
        "sku": send.sku,
        "name": send.name,
        "brand": send.brand,
        "category": send.marketplace_category or send.category,
        "ean": send.ean,
        "description": send.description,
        "attributes": dict(send.attributes),
        "images": list(send.images),
        "weight_g": send.weight_g,
        "height_cm": _num(send.height_cm),
        "width_cm": _num(send.width_cm),
        "length_cm": _num(send.length_cm),
        "active": send.active,
    }


class SandboxConnector(Connector):
    """Ponte's own test marketplace (`ponte sandbox`'s profiles): a protocol of Ponte's, for tests and benches.
    Real marketplaces have connectors of their own that speak their real APIs."""

    kind = "sandbox"
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "pt-BR": {"name": "Marketplace de teste (sandbox)"},
        "en": {"name": "Test marketplace (sandbox)"},
        "es": {"name": "Marketplace de prueba (sandbox)"},
    }
    Settings = SandboxSettings
    flows = frozenset({"product", "price", "inventory", "tracking", "order"})
    order_poll_every = 5.0

    @classmethod
    def marketplace_for(cls, settings: Mapping[str, Any]) -> str:
        return str(settings.get("profile") or "sandbox")

    def __init__(self, settings: ConnectorSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        assert isinstance(settings, SandboxSettings)
        self.config = settings
        secret = settings.client_secret.get_secret_value()
        self.http = HttpClient(
            f"{settings.base_url}/{settings.profile}",
            timeout=self.timeout,
            body_limit=self.body_limit,
            secrets=[secret],
        )
        self._token: str | None = None
        self._token_until = 0.0

    # -- auth -------------------------------------------------------------------------------------------

    def _authenticate(self) -> Outcome | None:
        """Get a fresh access token; an error Outcome when the marketplace refuses or cannot answer."""
        body = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret.get_secret_value(),
        }
        result = self.http.request("POST", "/oauth/token", json=body)
        token = result.body.get("access_token") if result.ok and isinstance(result.body, dict) else None
        if not token:
            outcome = outcome_from_result(result)
            if outcome.status != Status.ERROR:  # a 2xx without a token is as bad as a broken answer
                return Outcome.error(say("msg.call.no_access_token"), transient=True, **_records(result))
            if result.status in (400, 401, 403):
                outcome.category, outcome.disposition = "auth_invalid", Disposition.FIX
            return outcome
        self.http.add_secret(token)
        expires_in = float(result.body.get("expires_in") or 300)
        # Renew a little before expiry, so that a call does not leave with a token about to die.
        self._token, self._token_until = token, time.monotonic() + expires_in - min(30.0, expires_in * 0.1)
        return None

    def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> HttpResult | Outcome:
        """One authenticated request; re-authenticates once when the token was refused."""
        for _attempt in (1, 2):
            if self._token is None or time.monotonic() >= self._token_until:
                failed = self._authenticate()
                if failed is not None:
                    return failed
            headers = {"Authorization": f"Bearer {self._token}"}
            result = self.http.request(method, path, json=json, headers=headers, params=params)
            if result.status != 401:
                return result
            self._token = None  # expired or revoked: forget it and try once more with a new one
        outcome = outcome_from_result(result)
        outcome.category, outcome.disposition = "auth_invalid", Disposition.FIX
        return outcome

    def _send(self, method: str, path: str, payload: Any, said: str, ref_key: str | None = None) -> Outcome:
        """Send and read the answer; `said` is the catalog key of what success says (with the marketplace's `ref`)."""
        result = self._call(method, path, json=payload)
        if isinstance(result, Outcome):
            return result
        ref = None
        if ref_key and result.ok and isinstance(result.body, dict) and result.body.get(ref_key) is not None:
            ref = str(result.body[ref_key])
        return outcome_from_result(result, say(said, ref=ref), external_ref=ref)

    # -- flows ------------------------------------------------------------------------------------------

    def send_product(self, send: ProductSend) -> Outcome:
        """PUT the SKU's catalog data; success carries the marketplace's item id as external_ref."""
        return self._send("PUT", f"/items/{_q(send.sku)}", product_body(send), "msg.send.listed_as", ref_key="id")

    def send_price(self, send: PriceSend) -> Outcome:
        body = {"list_price": _num(send.list_price), "price": _num(send.price)}
        return self._send("PUT", f"/items/{_q(send.sku)}/price", body, "msg.send.price_updated", ref_key="id")

    def send_inventory(self, send: StockSend) -> Outcome:
        body = {"quantity": send.quantity, "handling_days": send.handling_days or 0}
        return self._send("PUT", f"/items/{_q(send.sku)}/stock", body, "msg.send.stock_updated", ref_key="id")

    def send_tracking(self, send: TrackingSend) -> Outcome:
        body = {
            "invoice_key": send.invoice_key,
            "carrier": send.carrier,
            "tracking_number": send.tracking_number,
            "items": [{"sku": line.sku, "quantity": line.quantity} for line in send.items],
        }
        path = f"/orders/{_q(send.order_id)}/shipment"
        return self._send("POST", path, body, "msg.send.shipment_recorded", ref_key="shipment_id")

    def fetch_orders(self, cursor: str | None) -> FetchedOrders:
        """The next page of the seller's new orders, normalised to Ponte's incoming-order shape."""
        result = self._call("GET", "/orders", params={"since": cursor or "0", "limit": FEED_PAGE})
        if isinstance(result, Outcome):
            return FetchedOrders([], cursor, outcome=result)
        outcome = outcome_from_result(result)
        if outcome.status == Status.ERROR or not isinstance(result.body, dict):
            if outcome.status != Status.ERROR:
                outcome = Outcome.error(
                    say("msg.call.not_an_object", api="/orders"), transient=True, **_records(result)
                )
            return FetchedOrders([], cursor, outcome=outcome)
        raw, next_cursor = _feed_parts(result.body)
        return FetchedOrders([normalise_order(o) for o in raw], next_cursor or cursor, outcome=outcome)

    def acknowledge_order(self, external_id: str, outcome: Outcome) -> Outcome:
        integrated = outcome.status in (Status.SUCCESS, Status.WARNING)
        body = {"status": "integrated" if integrated else "rejected", "message": outcome.message[:500]}
        return self._send("POST", f"/orders/{_q(external_id)}/ack", body, "msg.send.acknowledged")

    def test_connection(self) -> Outcome:
        """Get a new token and read the seller's profile."""
        self._token = None
        result = self._call("GET", "/me")
        if isinstance(result, Outcome):
            return result
        outcome = outcome_from_result(result)
        if outcome.status == Status.SUCCESS and isinstance(result.body, dict):
            outcome.say(
                say(
                    "msg.sandbox.connected",
                    marketplace=result.body.get("marketplace"),
                    seller=result.body.get("seller_id"),
                )
            )
        return outcome

    def close(self) -> None:
        self.http.close()


def _q(value: Any) -> str:
    return quote(str(value), safe="")


def _records(result: HttpResult) -> dict[str, Any]:
    return {"request": result.record_request(), "response": result.record_response(), "http_status": result.status}


def _feed_parts(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The orders and next cursor of a feed page."""
    return body.get("pedidos") or [], body.get("proximo_cursor")


def normalise_order(raw: dict[str, Any]) -> dict[str, Any]:
    """One order in Ponte's shape: {id, status, items, postal_code, buyer, total, shipping_total, created_at}."""
    client = raw.get("cliente") or {}
    return {
        "id": str(raw["codigo"]), "status": raw.get("situacao"), "created_at": raw.get("criado_em"),
        "items": [{"sku": i["sku"], "quantity": i["quantidade"], "price": float(i["preco"])} for i in raw["itens"]],
        "postal_code": (raw.get("endereco_entrega") or {}).get("cep"),
        "buyer": {"name": client.get("nome"), "document": client.get("cpf"), "email": client.get("email"), "phone": client.get("telefone")},
        "total": float(raw.get("valor_total") or 0), "shipping_total": float(raw.get("valor_frete") or 0),
    }  # fmt: skip
