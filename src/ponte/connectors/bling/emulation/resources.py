"""The emulated Bling's products, contacts, sales orders and NF-e (bling.md § 3–7), each in the spec's shape."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.bling.emulation.api import (
    CANCELLED,
    OPEN,
    BlingHandlers,
    Refused,
    answer,
    gzip64,
    json_body,
    validation,
)
from ponte.connectors.bling.emulation.state import Company

PAGE = 100  # `limite` when none is given (bling.md § 2)


def _page(request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    page = max(1, int(request.query_params.get("pagina") or 1))
    size = max(1, int(request.query_params.get("limite") or PAGE))
    return rows[(page - 1) * size : page * size]


def _many(request: Request, name: str) -> list[str]:
    return request.query_params.getlist(f"{name}[]")


def _not_found(what: str) -> Refused:
    return Refused(404, "RESOURCE_NOT_FOUND", "Recurso não encontrado", f"{what} não encontrado")


def _item(company: Company, path_value: str, table: dict[int, dict[str, Any]], what: str) -> dict[str, Any]:
    try:
        found = table.get(int(path_value))
    except ValueError:
        found = None
    if found is None:
        raise _not_found(what)
    return found


# -- contacts ---------------------------------------------------------------------------------------------------
async def contacts(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    document = request.query_params.get("numeroDocumento")
    rows = [c for c in company.contacts.values() if not document or c.get("numeroDocumento") == document]
    listed = [
        {
            "id": c["id"],
            "nome": c["nome"],
            "situacao": c.get("situacao", "A"),
            "numeroDocumento": c.get("numeroDocumento", ""),
        }
        for c in rows
    ]
    return answer({"data": _page(request, listed)})


async def create_contact(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    body = await json_body(request)
    if not str(body.get("nome") or "").strip():
        raise Refused(400, "VALIDATION_ERROR", "Não foi possível salvar o contato", "O nome do contato é obrigatório",
                      fields=[{"code": 1, "msg": "O nome do contato deve ser informado", "element": "nome"}])  # fmt: skip
    contact_id = h.state.next_id()
    company.contacts[contact_id] = {**body, "id": contact_id}
    return answer({"data": {"id": contact_id}}, 201)


# -- sales orders -----------------------------------------------------------------------------------------------
def _listed_sale(sale: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "numero",
        "numeroLoja",
        "data",
        "dataSaida",
        "dataPrevista",
        "totalProdutos",
        "total",
        "situacao",
        "loja",
    )
    listed = {k: sale[k] for k in keys if k in sale}
    listed["contato"] = {"id": sale["contato"]["id"], "nome": sale["contato"].get("nome", "")}
    return listed


async def sales(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    numbers = set(_many(request, "numerosLojas"))
    rows = [s for s in company.sales.values() if not numbers or s.get("numeroLoja") in numbers]
    return answer({"data": _page(request, [_listed_sale(s) for s in rows])})


async def sale(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    found = _item(company, request.path_params["idPedidoVenda"], company.sales, "Pedido de venda")
    return answer({"data": found})


def _check_sale(company: Company, body: dict[str, Any]) -> None:
    contact = (body.get("contato") or {}).get("id")
    if contact not in company.contacts:
        raise validation("Não foi possível salvar a venda", (36, "O contato informado não existe", "contato"))
    store = (body.get("loja") or {}).get("id")
    if store and store not in company.stores:
        raise validation("Não foi possível salvar a venda", (40, f"A loja {store} não foi encontrada", "loja"))
    for n, item in enumerate(body.get("itens") or [], start=1):
        product = (item.get("produto") or {}).get("id")
        if product is not None and product not in company.products:
            raise validation(
                "Não foi possível salvar a venda", (51, f"Item {n}: o produto {product} não foi encontrado", "itens")
            )
    for parcel in body.get("parcelas") or []:
        if (parcel.get("formaPagamento") or {}).get("id") not in company.payment_methods:
            raise Refused(
                400, "VALIDATION_ERROR", "Não foi possível salvar a venda",
                "A venda não pode ser salva, pois ocorreram problemas em sua validação.",
                fields=[{"code": 49, "msg": "Uma ou mais parcelas da venda possuem erros de validação",
                         "element": "parcelas", "namespace": "VENDAS",
                         "collection": [{"index": 1, "code": 12, "msg": "Id da forma de pagamento inválido.",
                                         "element": "formaPagamento", "namespace": "VENDAS"}]}],
            )  # fmt: skip


async def create_sale(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    body = await json_body(request)
    _check_sale(company, body)
    sale_id = h.state.next_id()
    items = body.get("itens") or []
    products = sum(float(i.get("quantidade") or 0) * float(i.get("valor") or 0) for i in items)
    contact = company.contacts[body["contato"]["id"]]
    stored = {
        **body,
        "id": sale_id,
        "numero": len(company.sales) + 1,
        "contato": {"id": contact["id"], "nome": contact["nome"]},
        "situacao": {"id": OPEN, "valor": 0},
        "totalProdutos": round(products, 2),
        "total": round(products + float((body.get("transporte") or {}).get("frete") or 0), 2),
        "itens": [{**i, "id": h.state.next_id()} for i in items],
        "parcelas": [{**p, "id": h.state.next_id()} for p in body.get("parcelas") or []],
    }
    with h.state.lock:
        company.sales[sale_id] = stored
        company.issued_at[sale_id] = h.state.now() + h.state.config.nfe_seconds
    return answer({"data": {"id": sale_id, "alertas": []}}, 201)


async def sale_status(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    found = _item(company, request.path_params["idPedidoVenda"], company.sales, "Pedido de venda")
    status = int(request.path_params["idSituacao"])
    if status not in (OPEN, 9, CANCELLED, 15):
        raise Refused(
            400, "VALIDATION_ERROR", "Situação inválida", f"A situação {status} não existe no módulo de vendas"
        )
    found["situacao"] = {"id": status, "valor": 2 if status == CANCELLED else 0}
    return answer(None, 204)


# -- NF-e -------------------------------------------------------------------------------------------------------
LISTED_NOTE = ("id", "tipo", "situacao", "numero", "dataEmissao", "dataOperacao", "chaveAcesso", "contato",
               "naturezaOperacao", "loja")  # fmt: skip


def _contact_of_note(note: dict[str, Any]) -> dict[str, Any]:
    contact = note["contato"]
    return {
        "id": contact.get("id"),
        "nome": contact.get("nome", ""),
        "tipoPessoa": contact.get("tipo", "F") if contact.get("tipo") in ("F", "J", "E") else "F",
        "numeroDocumento": contact.get("numeroDocumento", ""),
        "contribuinte": 9,
    }


async def notes(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    q = request.query_params
    since, kind = q.get("dataEmissaoInicial"), q.get("tipo")
    situation = q.get("situacao")
    rows = sorted(company.notes.values(), key=lambda n: (n["dataEmissao"], n["id"]))
    rows = [
        n for n in rows
        if (not since or n["dataEmissao"][:10] >= since[:10])
        and (kind is None or str(n["tipo"]) == kind)
        and (str(n["situacao"]) == situation if situation else n["situacao"] != 2)  # cancelled ones only when asked
        and (not q.get("numeroLoja") or n["numeroPedidoLoja"] == q.get("numeroLoja"))
    ]  # fmt: skip
    listed = [{**{k: n[k] for k in LISTED_NOTE}, "contato": _contact_of_note(n)} for n in rows]
    return answer({"data": _page(request, listed)})


async def note(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    found = _item(company, request.path_params["idNotaFiscal"], company.notes, "Nota fiscal")
    shown = {k: v for k, v in found.items() if k != "xml"}
    shown["contato"] = _contact_of_note(found)
    shown["xml"] = f"https://bling.example/nfe/{found['chaveAcesso']}.xml"  # a link, as Bling answers
    # NotasFiscaisDadosDTO requires `data` and `valor`, and its transporte `numero`, `serie` and `data`, though it
    # declares none of them: the emulation answers what the spec asks.
    day = found["dataEmissao"][:10]
    shown |= {"data": day, "valor": found.get("valorNota", 0.0)}
    shown["transporte"] = {**found["transporte"], "numero": found["numero"], "serie": found["serie"], "data": day}
    return answer({"data": shown})


async def note_document(h: BlingHandlers, request: Request) -> Response:
    company = h.caller(request)
    key = request.path_params["chaveAcesso"]
    found = next((n for n in company.notes.values() if n["chaveAcesso"] == key), None)
    if found is None:
        raise _not_found("Documento")
    return answer({"data": [{"nome": f"{key}.xml", "conteudo": gzip64(found["xml"])}]})
