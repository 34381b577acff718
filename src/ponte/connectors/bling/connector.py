"""The Bling connector: Bling's API v3 (bling.md), for a company that authorised Ponte's app.

Bling is the store's ERP: a placed marketplace order becomes a Bling sales order (`POST /pedidos/vendas`), its buyer
found by CPF/CNPJ or created (`/contatos`), its items by code (`/produtos?codigos[]=`), once — a retry finds the
sales order by the marketplace's order number (`numerosLojas[]`) instead of creating a second. A cancelled order
cancels it (`PATCH …/situacoes/{id}`). The NF-e Bling issues come back (`/nfe`, `/nfe/documento/{chave}`) with the
tracking code of the sales order's volumes, and the tracking flow takes them to the marketplace.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from ponte.clock import now
from ponte.connectors.base import (
    CallFailed,
    Connector,
    ConnectorSettings,
    FetchedCatalog,
    FetchedInvoices,
    Grant,
    GrantRefused,
    Identity,
    Invoice,
    Notice,
    OrderSend,
    Outcome,
    RateLimit,
    Resolved,
    Tracking,
    notice_body,
)
from ponte.connectors.bling import catalog, sales
from ponte.connectors.bling.api import BlingApi
from ponte.connectors.bling.cursor import InvoiceCursor
from ponte.connectors.bling.errors import failure, records
from ponte.connectors.bling.labels import LABELS
from ponte.connectors.bling.settings import REQUESTS_PER_DAY, REQUESTS_PER_SECOND, BlingSettings
from ponte.connectors.context import ConnectorContext
from ponte.connectors.http import HttpResult
from ponte.domain import Disposition
from ponte.domain.messages import say

NFE_PAGE = 100  # `limite` of a page of notes (Bling's default; its maximum is not documented)
SAIDA = 1  # NF-e `tipo`: 1 saída (a sale), 0 entrada
# Notes read (4 calls each: the note, its XML, its sales order twice) per fetch: at 3 calls a second, a fetch stays
# under five seconds, and what it read is kept before the next one starts.
READ_AT_ONCE = 5


def _q(value: Any) -> str:
    return quote(str(value), safe="")


def daily_rate(per_day: int) -> RateLimit:
    """Bling's daily cap as a bucket: a quarter of the day's calls at once, the rest spread over the day, so that no
    24 hours ever hold more than the cap (burst + rate × 86 400 = the cap)."""
    burst = per_day / 4
    return RateLimit(rate=(per_day - burst) / 86_400, burst=burst)


class BlingConnector(Connector):
    kind = "bling"
    role = "erp"
    Settings = BlingSettings
    flows = frozenset({"order"})
    labels: ClassVar[Mapping[str, Mapping[str, str]]] = LABELS
    # bling.md § 2: per account (every endpoint together) 3 requests a second and 120 000 a day; 429 beyond.
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        "api": RateLimit(rate=REQUESTS_PER_SECOND, burst=1.0),
        "day": daily_rate(REQUESTS_PER_DAY),
    }
    invoice_poll_every = 300.0
    catalog_poll_every = 120.0
    oauth = True
    pkce = False  # Bling's authorize takes response_type, client_id and state only (bling.md § 1)

    def __init__(self, settings: ConnectorSettings, *, context: ConnectorContext) -> None:
        super().__init__(settings, context=context)
        assert isinstance(settings, BlingSettings)
        self.config = settings
        self.api = BlingApi(
            settings.api_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            context=context,
            refresh=self.refresh_grant,
        )

    # -- what the platform asks ---------------------------------------------------------------------------
    @classmethod
    def rates(cls, settings: ConnectorSettings) -> Mapping[str, RateLimit]:
        assert isinstance(settings, BlingSettings)
        rate = settings.requests_per_second
        # Burst 1: calls a third of a second apart never put four in one second, as a bucket of 3 could.
        return {"api": RateLimit(rate=rate, burst=1.0), "day": daily_rate(settings.requests_per_day)}

    @classmethod
    def consent_origin(cls, settings: Mapping[str, Any]) -> str | None:
        parts = urlsplit(str(settings.get("auth_url") or BlingSettings.model_fields["auth_url"].default))
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None

    @classmethod
    def emulation(cls) -> Any:
        from ponte.connectors.bling.emulation import BlingEmulation

        return BlingEmulation()

    # -- OAuth (developer.bling.com.br/aplicativos; bling.md § 1) ------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None) -> str:
        # The redirect URI and the scopes come from the app's registration: Bling takes neither here.
        query = {"response_type": "code", "client_id": self.config.client_id, "state": state}
        return f"{self.config.auth_url}/oauth/authorize?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> Grant:
        return self.api.token({"grant_type": "authorization_code", "code": code})

    def refresh_grant(self, grant: Grant) -> Grant:
        if not grant.refresh_token:
            raise GrantRefused(say("msg.oauth.no_refresh_token", marketplace="Bling"))
        return self.api.token({"grant_type": "refresh_token", "refresh_token": grant.refresh_token})

    def identify(self) -> Identity:
        company = self._company()
        return Identity(str(company["id"]), str(company.get("nome") or company["id"]), {"cnpj": company.get("cnpj")})

    def test_connection(self) -> Outcome:
        company = self._company()
        said = say("msg.bling.connected", company=company.get("nome"), id=company.get("cnpj") or company["id"])
        return Outcome.ok(said)

    def _company(self) -> dict[str, Any]:
        """`GET /empresas/me/dados-basicos`: the company the token acts for."""
        data = self._data(self.api.call("GET", "/empresas/me/dados-basicos"))
        if not isinstance(data, dict) or "id" not in data:
            raise CallFailed(Outcome.error(say("msg.bling.no_company_id"), transient=True))
        return data

    def _data(self, result: HttpResult) -> Any:
        """The `data` of a successful answer; a failed call raises CallFailed with Bling's words."""
        if not result.ok:
            raise CallFailed(failure(result))
        if not isinstance(result.body, dict) or "data" not in result.body:
            raise CallFailed(
                Outcome.error(say("msg.call.undocumented", marketplace="Bling"), transient=True, **records(result))
            )
        return result.body["data"]

    # -- orders to Bling ----------------------------------------------------------------------------------
    def send_order(self, send: OrderSend) -> Outcome:
        existing = self._sale_of(send.order_id)
        if send.status == "cancelled":
            return self._cancel(send, existing)
        if existing is not None:
            # An earlier attempt created it (perhaps killed after Bling answered): never a second sales order.
            said = say("msg.bling.sale_exists", order=send.order_id, sale=str(existing["id"]))
            return Outcome.ok(said, external_ref=str(existing["id"]))
        products = self._products(send)
        missing = [line.sku for line in send.items if line.sku not in products]
        if missing:
            return Outcome.error(
                say("msg.bling.no_product", codes=", ".join(missing)),
                category="sku_not_linked", disposition=Disposition.FIX, code="produto.nao_encontrado",
            )  # fmt: skip
        body = sales.sale_body(
            send,
            contact_id=self._contact(send),
            products=products,
            store_id=self.config.store_ids.get(send.marketplace) or None,
            payment_method_id=self.config.payment_method_id,
        )
        result = self.api.call("POST", "/pedidos/vendas", json=body)
        if not result.ok:
            return failure(result)
        data = result.body.get("data") if isinstance(result.body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            return Outcome.error(say("msg.bling.no_sale_id"), transient=True, **records(result))
        sale_id = str(data["id"])
        alerts = [str(a.get("msg")) for a in data.get("alertas") or [] if isinstance(a, dict) and a.get("msg")]
        if alerts:
            said = say("msg.bling.sale_created_with_remarks", sale=sale_id, remarks="; ".join(alerts))
            return Outcome.warning(said, external_ref=sale_id, **records(result))
        return Outcome.ok(say("msg.bling.sale_created", sale=sale_id), external_ref=sale_id, **records(result))

    def _sale_of(self, order_id: str) -> dict[str, Any] | None:
        """The sales order Bling holds for a marketplace order (`GET /pedidos/vendas?numerosLojas[]=…`)."""
        found = self._data(self.api.call("GET", "/pedidos/vendas", params={"numerosLojas[]": [order_id]}))
        matches = [s for s in found or [] if isinstance(s, dict) and str(s.get("numeroLoja")) == order_id]
        return matches[0] if matches else None

    def _cancel(self, send: OrderSend, existing: dict[str, Any] | None) -> Outcome:
        if existing is None:
            return Outcome.ok(say("msg.bling.cancelled_before", order=send.order_id))
        status = self.config.cancelled_status_id
        if (existing.get("situacao") or {}).get("id") == status:
            said = say("msg.bling.already_cancelled", sale=str(existing["id"]))
            return Outcome.ok(said, external_ref=str(existing["id"]))
        path = f"/pedidos/vendas/{_q(existing['id'])}/situacoes/{status}"
        result = self.api.call("PATCH", path)
        if not result.ok:
            return failure(result)
        said = say("msg.bling.sale_cancelled", sale=str(existing["id"]))
        return Outcome.ok(said, external_ref=str(existing["id"]), **records(result))

    def _products(self, send: OrderSend) -> dict[str, dict[str, Any]]:
        """Bling's products of the order's codes (`GET /produtos?codigos[]=…`), by code."""
        codes = sorted({line.sku for line in send.items})
        found = self._data(self.api.call("GET", "/produtos", params={"codigos[]": codes}))
        return {str(p["codigo"]): p for p in found or [] if isinstance(p, dict) and p.get("codigo") and p.get("id")}

    def _contact(self, send: OrderSend) -> int:
        """The buyer's contact: found by CPF/CNPJ (`GET /contatos?numeroDocumento=`), or created."""
        document = sales.digits(send.buyer.get("document"))
        if document:
            found = self._data(self.api.call("GET", "/contatos", params={"numeroDocumento": document}))
            for contact in found or []:
                if isinstance(contact, dict) and contact.get("id"):
                    return int(contact["id"])
        made = self._data(self.api.call("POST", "/contatos", json=sales.contact_body(send)))
        if not isinstance(made, dict) or not made.get("id"):
            raise CallFailed(Outcome.error(say("msg.bling.no_contact_id"), transient=True))
        return int(made["id"])

    # -- invoices back ------------------------------------------------------------------------------------
    def fetch_invoices(self, cursor: str | None) -> FetchedInvoices:
        """One page of sale notes emitted since the cursor's day; each issued one not handed over yet is read with
        its XML and the tracking of its sales order."""
        today = now().date()
        at = InvoiceCursor.read(cursor, today=today, days=self.config.invoice_days)
        params = {"tipo": SAIDA, "dataEmissaoInicial": at.since, "pagina": at.page, "limite": NFE_PAGE}
        result = self.api.call("GET", "/nfe", params=params)
        if not result.ok:
            return FetchedInvoices([], cursor, outcome=failure(result))
        notes = [n for n in (result.body or {}).get("data") or [] if isinstance(n, dict) and n.get("id")]
        invoices: list[Invoice] = []
        for note in notes:
            if len(invoices) == READ_AT_ONCE:  # the rest of the page next time (the notes read are remembered)
                return FetchedInvoices(invoices, at.same_page(), more=True)
            situation = note.get("situacao")
            at.note(str(note.get("dataEmissao") or at.since), on_the_way=situation in sales.ON_THE_WAY, today=today)
            if int(note["id"]) in at.seen or situation in sales.ON_THE_WAY:
                continue
            at.seen.append(int(note["id"]))
            if situation in sales.ISSUED and self._ours(note):
                invoice = self._invoice(int(note["id"]))
                if invoice is not None:
                    invoices.append(invoice)
        more = len(notes) == NFE_PAGE
        return FetchedInvoices(invoices, at.next_page() if more else at.walked(), more=more)

    def _ours(self, note: dict[str, Any]) -> bool:
        """Whether a note may be of an order Ponte handed over: with stores set, only their notes are read (a note of
        the counter or of another integration costs no call)."""
        stores = set(self.config.store_ids.values())
        return not stores or (note.get("loja") or {}).get("id") in stores

    def _invoice(self, note_id: int) -> Invoice | None:
        """`GET /nfe/{id}` (key, the store's order number), its XML, and the sales order's tracking code."""
        note = self._data(self.api.call("GET", f"/nfe/{note_id}"))
        order_id, key = str(note.get("numeroPedidoLoja") or ""), str(note.get("chaveAcesso") or "")
        if not order_id or not key:
            return None  # a note of a sale Ponte did not hand over (typed in Bling): not Ponte's
        document = self.api.call("GET", f"/nfe/documento/{_q(key)}", params={"formato": "xml"})
        if not document.ok and document.status != 404:  # read again next time: Mercado Livre takes only the XML
            raise CallFailed(failure(document))
        xml = sales.document_xml(document.body) if document.ok else None
        carrier, tracking = self._tracking(order_id)
        if not carrier:
            carrier = ((note.get("transporte") or {}).get("transportador") or {}).get("nome")
        return Invoice(
            order_id=order_id,
            invoice_key=key,
            invoice_xml=xml,
            carrier=carrier,
            tracking_number=tracking,
            reference=str(note_id),
            message=say(
                "msg.bling.invoice_issued",
                number=note.get("numero"),
                nfe=key,
                tracking=say("msg.invoice.tracking", tracking=tracking) if tracking else "",
            ),
            response={
                "nfe": {
                    k: note.get(k) for k in ("id", "numero", "serie", "situacao", "chaveAcesso", "numeroPedidoLoja")
                }
            },
        )

    def fetch_tracking(self, order_ids: list[str]) -> list[Tracking]:
        """Each order's sales order read again for the tracking code its volume has now (bling.md § 7)."""
        found = []
        for order_id in order_ids:
            carrier, code = self._tracking(order_id)
            if code:
                found.append(Tracking(order_id, code, carrier, response={"codigoRastreamento": code}))
        return found

    def _tracking(self, order_id: str) -> tuple[str | None, str | None]:
        """(service, tracking code) of the order's sales order volumes, where Bling has them."""
        sale = self._sale_of(order_id)
        if sale is None:
            return None, None
        return sales.tracking_of(self._data(self.api.call("GET", f"/pedidos/vendas/{_q(sale['id'])}")))

    # -- the catalog from Bling (bling.md § 3–4, § 8) -------------------------------------------------------
    def fetch_catalog(self, cursor: str | None) -> FetchedCatalog:
        try:
            return catalog.read_page(self._get, cursor, details=self.config.catalog_details)
        except CallFailed as failed:
            return FetchedCatalog([], cursor, outcome=failed.outcome)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        return self._data(self.api.call("GET", path, params=params or None))

    @classmethod
    def counts_stock(cls, settings: Mapping[str, Any], marketplace: str, warehouse: str) -> bool | None:
        """A Bling deposit counts for a marketplace when it is among the marketplace's deposits, or else among the
        deposits that count for all (none set: every deposit counts)."""
        if not warehouse.startswith("bling:"):
            return None
        deposit = warehouse.removeprefix("bling:")
        chosen = (settings.get("marketplace_deposits") or {}).get(marketplace) or settings.get("deposits") or []
        return not chosen or deposit in {str(d) for d in chosen}

    @classmethod
    def read_notification(cls, body: bytes, headers: Mapping[str, str]) -> Notice | None:
        """Bling's webhook (bling.md § 8 [S]): `{"eventId", "date", "version", "event": "product.updated"…,
        "companyId", "data": {...}}`. Product and stock events are kept as the product to read again with the
        company's token; nothing else in the body is believed (its signature is keyed with the app's secret, which
        only the affiliate's settings hold)."""
        data = notice_body(body)
        event, company, payload = data.get("event"), data.get("companyId"), data.get("data")
        if not isinstance(event, str) or not event.startswith(("product.", "stock.", "virtual_stock.")):
            return None
        if not isinstance(company, str) or not company or not isinstance(payload, dict):
            raise ValueError("companyId and data are required")
        product = payload.get("produto") if event.startswith(("stock.", "virtual_stock.")) else payload
        product_id = (product or {}).get("id") if isinstance(product, dict) else None
        if not isinstance(product_id, int | str) or not str(product_id).isdigit():
            raise ValueError("the event names no product id")
        return Notice(subject=company[:64], topic=event[:64], resource=f"/produtos/{product_id}")

    def resolve(self, notice: Notice) -> Resolved:
        """The notified product read whole (its family, for a variation) with its balances."""
        product_id = notice.resource.rsplit("/", 1)[-1]
        try:
            product = self._get(f"/produtos/{_q(product_id)}", {})
            parent = ((product or {}).get("variacao") or {}).get("produtoPai") or {}
            row = {"id": int(product_id), "idProdutoPai": parent.get("id")}
            return Resolved(catalog=catalog.read_products(self._get, [row]))
        except CallFailed as failed:
            if failed.outcome.http_status == 404:
                return Resolved()  # removed in Bling meanwhile: nothing to read
            return Resolved(outcome=failed.outcome)

    def close(self) -> None:
        self.api.close()


_ = date  # kept for readers of sale dates (sales.py)
