"""The emulated Bling's test helpers, under `/bling/_admin/…` (a path the real API does not have): register an app
and a company, grant tokens as if the company had approved the app, give the company products, payment methods and
stores, move the clock, read what it holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.bling.emulation import catalog
from ponte.connectors.bling.emulation.api import BlingHandlers, answer, json_body
from ponte.connectors.bling.emulation.state import CNPJ, App, Company


def _company(h: BlingHandlers, body: dict[str, Any] | None = None, request: Request | None = None) -> Company:
    name = (body or {}).get("company") or (request.query_params.get("company") if request else None)
    if name is None and len(h.state.companies) == 1:
        return next(iter(h.state.companies.values()))
    return h.state.companies[str(name)]


def routes(h: BlingHandlers) -> list[tuple[str, Callable[..., Any], list[str]]]:
    async def apps(request: Request) -> Response:
        body = await json_body(request)
        app = App(str(body["client_id"]), str(body["client_secret"]), str(body.get("redirect_uri") or ""))
        h.state.apps[app.client_id] = app
        return answer({"client_id": app.client_id})

    async def companies(request: Request) -> Response:
        body = await json_body(request)
        company = Company(str(body["id"]), str(body.get("nome") or body["id"]), str(body.get("cnpj") or CNPJ))
        company.payment_methods = {int(x) for x in body.get("payment_methods") or [1]}
        company.stores = {int(x) for x in body.get("stores") or []}
        if body.get("deposits"):
            company.deposits = [int(x) for x in body["deposits"]]
        h.state.companies.setdefault(company.id, company)
        return answer({"id": company.id})

    async def grants(request: Request) -> Response:
        body = await json_body(request)
        return answer(h.state.issue(str(body["client_id"]), _company(h, body).id))

    async def products(request: Request) -> Response:
        """Products by code, each with its variations (`variacoes`) and balances (`saldos`: deposit → quantity)."""
        body = await json_body(request)
        company = _company(h, body)
        with h.state.lock:
            made = {p["codigo"]: catalog.put_product(h, company, p) for p in body.get("products") or []}
        return answer({"ids": made})

    async def change_product(request: Request) -> Response:
        body = await json_body(request)
        return answer(await catalog.change_product(h, _company(h, body), body))

    async def webhooks(request: Request) -> Response:
        """Where an app's webhooks go (as configured in Bling's Central de Extensões); an empty URL stops them."""
        body = await json_body(request)
        if body.get("url"):
            h.state.webhooks[str(body["client_id"])] = str(body["url"])
        else:
            h.state.webhooks.pop(str(body["client_id"]), None)
        return answer({"webhooks": h.state.webhooks})

    async def config(request: Request) -> Response:
        body = await json_body(request)
        for name in ("rate", "daily", "nfe_seconds", "carrier", "tracking_seconds"):
            if name in body:
                setattr(h.state.config, name, type(getattr(h.state.config, name))(body[name]))
        return answer(vars(h.state.config))

    async def clock(request: Request) -> Response:
        body = await json_body(request)
        h.state.offset += float(body.get("advance") or 0)
        return answer({"now": h.state.now()})

    async def expire(request: Request) -> Response:
        with h.state.lock:
            for token in h.state.access.values():
                token.expires = 0
        return answer({"expired": len(h.state.access)})

    async def sales(request: Request) -> Response:
        company = _company(h, request=request)
        h.state.issue_due_notes(company)
        return answer({"sales": list(company.sales.values())})

    async def notes(request: Request) -> Response:
        company = _company(h, request=request)
        h.state.issue_due_notes(company)
        return answer({"notes": list(company.notes.values())})

    async def change_note(request: Request) -> Response:
        body = await json_body(request)
        company = _company(h, body)
        note = company.notes[int(request.path_params["note_id"])]
        note.update({k: v for k, v in body.items() if k in ("situacao", "chaveAcesso", "xml")})
        return answer(note)

    async def stats(request: Request) -> Response:
        return answer(
            {
                "refreshes": h.state.refreshes,
                "throttled": h.state.throttled,
                "webhooks_sent": h.state.webhooks_sent,
                "webhooks_failed": h.state.webhooks_failed,
            }
        )

    return [
        ("/apps", apps, ["POST"]),
        ("/companies", companies, ["POST"]),
        ("/grants", grants, ["POST"]),
        ("/products", products, ["POST"]),
        ("/products/change", change_product, ["POST"]),
        ("/webhooks", webhooks, ["POST"]),
        ("/config", config, ["POST"]),
        ("/clock", clock, ["POST"]),
        ("/tokens/expire", expire, ["POST"]),
        ("/sales", sales, ["GET"]),
        ("/notes", notes, ["GET"]),
        ("/notes/{note_id}", change_note, ["POST"]),
        ("/stats", stats, ["GET"]),
    ]
