"""The sandbox's emulation of Bling's API v3, mounted at /bling: the API at `/bling/Api/v3/…` (its real paths) and
the consent page at `/bling/Api/v3/oauth/authorize`, so the real connector runs against it by changing only its two
base URLs (`api_url`, `auth_url`: both `<sandbox>/bling/Api/v3`).

Every API request is checked against Bling's published spec (ponte.contract) and refused in Bling's error envelope
when it departs from it; answers are in the spec's shapes. Limits are Bling's (3 requests a second, 120 000 a day
per company; 429 `TOO_MANY_REQUESTS`), tokens last 6 hours and refresh tokens are single-use, and a sales order's
NF-e is issued `nfe_seconds` after it was created (the emulation's clock: `_admin/clock` moves it). Test helpers
live under /bling/_admin/ (admin.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ponte.connectors.bling.emulation import admin, catalog, resources
from ponte.connectors.bling.emulation.api import BlingHandlers, Refused, answer
from ponte.connectors.bling.emulation.state import BlingState
from ponte.contract import ContractMiddleware, Operation, Problem, contract
from ponte.sandbox.emulation import Emulation

BASE = "/Api/v3"


def refuse(operation: Operation | None, problems: list[Problem]) -> tuple[int, Any]:
    """What the spec refuses, refused in Bling's envelope (bling.md § 2)."""
    fields = [{"code": 0, "msg": str(problem), "element": str(problem.path)} for problem in problems]
    error = {
        "type": "VALIDATION_ERROR" if operation is not None else "RESOURCE_NOT_FOUND",
        "message": "Requisição inválida",
        "description": "; ".join(str(problem) for problem in problems),
        "fields": fields,
    }
    return (400 if operation is not None else 404), {"error": error}


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return answer(exc.body, exc.status)


async def _not_found(request: Request, exc: Exception) -> Response:
    body = {
        "error": {"type": "RESOURCE_NOT_FOUND", "message": "Recurso não encontrado", "description": request.url.path}
    }
    return answer(body, 404)


class BlingEmulation(Emulation):
    kind = "bling"

    def __init__(self) -> None:
        self.state = BlingState()
        self.handlers = BlingHandlers(self.state)
        h = self.handlers
        api: list[tuple[str, Callable[..., Any], list[str]]] = [
            ("/oauth/token", h.token, ["POST"]),
            ("/oauth/authorize", h.authorize, ["GET", "POST"]),
            ("/empresas/me/dados-basicos", h.company, ["GET"]),
            ("/produtos", partial(catalog.products, h), ["GET"]),
            ("/produtos/{idProduto}", partial(catalog.product, h), ["GET"]),
            ("/estoques/saldos", partial(catalog.balances, h), ["GET"]),
            ("/contatos", partial(resources.contacts, h), ["GET"]),
            ("/contatos", partial(resources.create_contact, h), ["POST"]),
            ("/pedidos/vendas", partial(resources.sales, h), ["GET"]),
            ("/pedidos/vendas", partial(resources.create_sale, h), ["POST"]),
            ("/pedidos/vendas/{idPedidoVenda}", partial(resources.sale, h), ["GET"]),
            ("/pedidos/vendas/{idPedidoVenda}/situacoes/{idSituacao}", partial(resources.sale_status, h), ["PATCH"]),
            ("/nfe", partial(resources.notes, h), ["GET"]),
            ("/nfe/{idNotaFiscal:int}", partial(resources.note, h), ["GET"]),
            ("/nfe/documento/{chaveAcesso}", partial(resources.note_document, h), ["GET"]),
        ]
        routes = [Route(f"{BASE}{path}", handler, methods=methods) for path, handler, methods in api]
        routes += [Route(f"/_admin{path}", handler, methods=methods) for path, handler, methods in admin.routes(h)]
        app = Starlette(routes=routes, exception_handlers={Refused: _refused, 404: _not_found})
        # Mounted at /bling by the sandbox (the mount is the request's root_path); OAuth and helpers are not in the spec.
        self._app = ContractMiddleware(app, contract("bling"), reject=refuse, skip=("/_admin", f"{BASE}/oauth"))

    @property
    def app(self) -> ASGIApp:
        return self._app  # type: ignore[return-value]  # an ASGI app; its scope is typed as a plain dict

    def reset(self) -> None:
        self.state.reset()

    def snapshot(self) -> Any:
        return self.state.snapshot()

    def restore(self, state: Any) -> None:
        if isinstance(state, dict):
            self.state.restore(state)
