"""The emulated Bling's catalog: products listed by page and by change (`GET /produtos`), one product with its
variations (`GET /produtos/{idProduto}`) and stock balances per deposit (`GET /estoques/saldos`), in the spec's
shapes (bling.md § 3–4; ProdutosDadosBaseDTO, ProdutosDadosDTO, EstoquesSaldosDTO).

A product is held in its detail shape, with two keys of the emulation's own: `_saldos` (deposit id → physical
balance) and `_alterado` (when it last changed, the emulation's clock). Bling writes its dates in Brasília time,
`YYYY-MM-DD HH:MM:SS` (the spec's examples), and so does the change filter.

When a product or a balance changes (`_admin/products/change`), the company's webhook is posted to the URL an app
registered (`_admin/webhooks`), signed the way integrators read Bling's (bling.md § 8 [S]): header
`X-Bling-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with the app's client_secret>`, body
`{"eventId", "date", "version": "v1", "event": "product.updated" | "stock.updated", "companyId", "data"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.bling.emulation.api import BlingHandlers, Refused, answer
from ponte.connectors.bling.emulation.state import Company

BRASILIA = ZoneInfo("America/Sao_Paulo")
# `limite` of a page: Bling's default is 100 and its maximum is not documented (bling.md § 2); the emulation
# answers at most this many.
MAX_PAGE = 100
LISTED = ("id", "idProdutoPai", "nome", "codigo", "preco", "tipo", "situacao", "formato", "descricaoCurta")


def bling_time(at: float) -> str:
    """A moment as Bling writes it: Brasília time, `YYYY-MM-DD HH:MM:SS`."""
    return datetime.fromtimestamp(at, UTC).astimezone(BRASILIA).strftime("%Y-%m-%d %H:%M:%S")


def _moment(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BRASILIA).timestamp()
    except ValueError:
        raise Refused(
            400, "VALIDATION_ERROR", "Data inválida", f"A data {text!r} não está no formato AAAA-MM-DD HH:MM:SS"
        )


def _ints(request: Request, name: str) -> list[int]:
    try:
        return [int(v) for v in request.query_params.getlist(f"{name}[]")]
    except ValueError:
        raise Refused(400, "VALIDATION_ERROR", "Parâmetro inválido", f"{name}[] deve conter números")


def _public(product: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in product.items() if not k.startswith("_")}


def _listed(product: dict[str, Any]) -> dict[str, Any]:
    row = {k: product[k] for k in LISTED if k in product}
    images = (((product.get("midia") or {}).get("imagens") or {}).get("externas")) or []
    if images:
        row["imagemURL"] = images[0]["link"]
    return row


async def products(h: BlingHandlers, request: Request) -> Response:
    """`GET /produtos`: by codes or ids, changed since `dataAlteracaoInicial` (and before `…Final`), by page, in
    id order. Variations are listed as products of their own (`idProdutoPai`)."""
    company = h.caller(request)
    codes = set(request.query_params.getlist("codigos[]"))
    ids = set(_ints(request, "idsProdutos"))
    since = _moment(request.query_params.get("dataAlteracaoInicial"))
    until = _moment(request.query_params.get("dataAlteracaoFinal"))
    page = max(1, int(request.query_params.get("pagina") or 1))
    size = min(MAX_PAGE, max(1, int(request.query_params.get("limite") or MAX_PAGE)))
    with h.state.lock:
        rows = [
            p
            for _, p in sorted(company.products.items())
            if (not codes or p.get("codigo") in codes)
            and (not ids or p["id"] in ids)
            and (since is None or p.get("_alterado", 0.0) >= since)
            and (until is None or p.get("_alterado", 0.0) <= until + 1)
        ]
        listed = [_listed(p) for p in rows[(page - 1) * size : page * size]]
    return answer({"data": listed})


def _detail(company: Company, product: dict[str, Any]) -> dict[str, Any]:
    shown = _public(product)
    shown.setdefault("midia", {"video": {"url": ""}, "imagens": {"externas": []}})
    if product.get("formato") == "V":
        children = [p for p in company.products.values() if p.get("idProdutoPai") == product["id"]]
        shown["variacoes"] = [
            {k: v for k, v in _public(child).items() if k != "idProdutoPai"} for child in sorted(children, key=_order)
        ]
    return shown


def _order(product: dict[str, Any]) -> int:
    return int((product.get("variacao") or {}).get("ordem") or 0)


async def product(h: BlingHandlers, request: Request) -> Response:
    """`GET /produtos/{idProduto}`: the product with its variations."""
    company = h.caller(request)
    try:
        found = company.products.get(int(request.path_params["idProduto"]))
    except ValueError:
        found = None
    if found is None:
        raise Refused(404, "RESOURCE_NOT_FOUND", "Recurso não encontrado", "Produto não encontrado")
    return answer({"data": _detail(company, found)})


async def balances(h: BlingHandlers, request: Request) -> Response:
    """`GET /estoques/saldos?idsProdutos[]=…`: each product's physical and virtual balance per deposit (the
    emulation reserves nothing: virtual = physical)."""
    company = h.caller(request)
    ids = _ints(request, "idsProdutos")
    codes = set(request.query_params.getlist("codigos[]"))
    found = []
    with h.state.lock:
        for product in company.products.values():
            if product["id"] not in ids and product.get("codigo") not in codes:
                continue
            if product.get("formato") == "V":
                continue  # a product with variations keeps no stock of its own: its variations do
            deposits = [
                {"id": deposit, "saldoFisico": float(quantity), "saldoVirtual": float(quantity)}
                for deposit, quantity in sorted(product.get("_saldos", {}).items())
            ]
            total = float(sum(product.get("_saldos", {}).values()))
            found.append(
                {
                    "produto": {"id": product["id"], "codigo": product.get("codigo", "")},
                    "saldoFisicoTotal": total,
                    "saldoVirtualTotal": total,
                    "depositos": deposits,
                }
            )
    return answer({"data": found})


# -- what the admin helpers hold and change ---------------------------------------------------------------------
def put_product(h: BlingHandlers, company: Company, given: dict[str, Any], parent: dict[str, Any] | None = None) -> int:
    """Add or replace a product by its code (its variations too), as the seller would in Bling."""
    given = dict(given)
    variations = given.pop("variacoes", None) or []
    saldos = given.pop("saldos", None)
    found = next((p for p in company.products.values() if p.get("codigo") == given.get("codigo")), None)
    product_id = found["id"] if found else h.state.next_id()
    kept = dict(found or {})
    product: dict[str, Any] = {"tipo": "P", "situacao": "A", "formato": "S", **kept, **given, "id": product_id}
    if saldos is not None:
        product["_saldos"] = {int(k): float(v) for k, v in saldos.items()}
    else:
        product.setdefault("_saldos", {})
    if parent is not None:
        product["idProdutoPai"] = parent["id"]
        product.setdefault("variacao", {"nome": product.get("nome", ""), "ordem": 1, "atributos": []})
        # ProdutosProdutoPaiDTO requires `cloneInfo` (whether the variation copies its parent's data).
        product["variacao"]["produtoPai"] = {"id": parent["id"], "cloneInfo": True}
    if variations:
        product["formato"] = "V"
    product["_alterado"] = h.state.now()
    company.products[product_id] = product
    for n, variation in enumerate(variations, start=1):
        variation = {**variation, "variacao": {"nome": variation.get("nome", ""), "ordem": n, "atributos": []}}
        put_product(h, company, variation, parent=product)
    return product_id


async def change_product(h: BlingHandlers, company: Company, body: dict[str, Any]) -> dict[str, Any]:
    """Change a product's fields and balances by its code (`saldos`: deposit id → physical balance), as the seller
    would in Bling; the webhook of each change goes out."""
    with h.state.lock:
        product = next((p for p in company.products.values() if p.get("codigo") == body.get("codigo")), None)
        if product is None:
            raise Refused(404, "RESOURCE_NOT_FOUND", "Recurso não encontrado", "Produto não encontrado")
        fields = {k: v for k, v in body.items() if k not in ("codigo", "saldos", "company")}
        events = []
        if fields:
            product.update(fields)
            product["_alterado"] = h.state.now()
            events.append(("product.updated", {"id": product["id"], "codigo": product.get("codigo", "")}))
        for deposit, quantity in (body.get("saldos") or {}).items():
            product.setdefault("_saldos", {})[int(deposit)] = float(quantity)
            total = float(sum(product["_saldos"].values()))
            events.append(
                ("stock.updated", {"produto": {"id": product["id"]}, "deposito": {"id": int(deposit)},
                                   "saldoFisicoTotal": total, "saldoVirtualTotal": total})
            )  # fmt: skip
    sent = [await _post_webhook(h, company, event, data) for event, data in events]
    return {"id": product["id"], "webhooks": sent}


async def _post_webhook(h: BlingHandlers, company: Company, event: str, data: dict[str, Any]) -> int:
    """Post one event to every registered URL; how many took it (a 2xx)."""
    body = orjson.dumps(
        {
            "eventId": str(uuid.uuid4()),
            "date": datetime.fromtimestamp(h.state.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": "v1",
            "event": event,
            "companyId": company.id,
            "data": data,
        }
    )
    taken = 0
    for client_id, url in list(h.state.webhooks.items()):
        app = h.state.apps.get(client_id)
        if app is None:
            continue
        mac = hmac.new(app.client_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Bling-Signature-256": f"sha256={mac}"}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answered = await client.post(url, content=body, headers=headers)
            ok = answered.is_success
        except httpx.HTTPError:
            ok = False
        h.state.webhooks_sent += ok
        h.state.webhooks_failed += not ok
        taken += ok
    return taken
