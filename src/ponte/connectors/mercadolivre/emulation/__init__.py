"""The sandbox's emulation of Mercado Livre: its API at its real paths and shapes, under `/mercadolivre/api`, and its
consent page under `/mercadolivre/auth`, so the real connector runs against it by changing only its two base URLs.

Every request to the API is checked against the documented bodies and parameters (`documented.json`, each field
with its source; Mercado Livre publishes no machine-readable specification), and refused in Mercado Livre's error
shape when it departs from them. Test helpers — registering an app and sellers, playing buyers, revoking a grant,
changing a listing behind Ponte's back — live under `/mercadolivre/_admin/…`, a path the real API does not have.
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

from ponte.connectors.mercadolivre.emulation import admin, items, orders
from ponte.connectors.mercadolivre.emulation.api import MeliHandlers, Refused, answer
from ponte.connectors.mercadolivre.emulation.state import MeliState
from ponte.sandbox.emulation import Emulation

MOUNT = "/mercadolivre"


def documented_contract() -> Any:
    """Mercado Livre's documented endpoints as a contract (ponte.contract) over `documented.json`."""
    from importlib import resources

    from ponte.contract import ApiSpec, Contract

    path = resources.files("ponte.connectors.mercadolivre").joinpath("documented.json")
    return Contract("mercadolivre", [ApiSpec(str(path))])


def _refusal(operation: Any, problems: list[Any]) -> tuple[int, Any]:
    """A request the documentation does not allow, refused as Mercado Livre refuses a body it cannot read."""
    causes = [
        {
            "department": "items",
            "cause_id": 0,
            "type": "error",
            "code": "body.invalid_fields",
            "references": [str(p.path)],
            "message": p.message,
        }
        for p in problems
    ]
    return 400, {"message": "body.invalid_fields", "error": "bad_request", "status": 400, "cause": causes}


class MercadoLivreEmulation(Emulation):
    kind = "mercadolivre"

    def __init__(self) -> None:
        self.state = MeliState()
        self.handlers = MeliHandlers(self.state)
        self._app = self._build()

    @property
    def app(self) -> ASGIApp:
        return self._app

    def reset(self) -> None:
        self.state.reset()

    def snapshot(self) -> Any:
        return self.state.snapshot()

    def restore(self, state: Any) -> None:
        self.state.restore(state)

    def _build(self) -> Any:  # an ASGI app (ContractMiddleware around the routes)
        h = self.handlers
        api: list[tuple[str, Callable[..., Any], list[str]]] = [
            ("/oauth/token", h.token, ["POST"]),
            ("/users/me", h.me, ["GET"]),
            ("/sites/MLB/categories", h.categories, ["GET"]),
            ("/categories/{category_id}", h.category, ["GET"]),
            ("/categories/{category_id}/attributes", h.category_attributes, ["GET"]),
            ("/sites/MLB/domain_discovery/search", h.predictor, ["GET"]),
            ("/items", partial(items.create, h), ["POST"]),
            ("/items", partial(items.multiget, h), ["GET"]),
            ("/items/validate", partial(items.validate, h), ["POST"]),
            ("/items/{item_id}", partial(items.read, h), ["GET"]),
            ("/items/{item_id}", partial(items.update, h), ["PUT"]),
            ("/items/{item_id}/description", partial(items.description, h), ["GET", "POST", "PUT"]),
            ("/users/{user_id}/items/search", partial(items.search, h), ["GET"]),
            ("/user-products/{product_id}/stock", partial(items.user_product_stock, h), ["GET"]),
            ("/user-products/{product_id}/stock/type/{location_type}", partial(items.user_product_stock, h), ["PUT"]),
            ("/orders/search", partial(orders.search, h), ["GET"]),
            ("/orders/{order_id}", partial(orders.read, h), ["GET"]),
            ("/orders/{order_id}/billing_info", partial(orders.billing_info, h), ["GET"]),
            ("/shipments/{shipment_id}", partial(orders.shipment, h), ["GET"]),
            ("/shipments/{shipment_id}/invoice_data", partial(orders.invoice_data, h), ["GET", "POST"]),
            ("/shipments/{shipment_id}/seller_notifications", partial(orders.seller_notifications, h), ["POST"]),
        ]
        routes = [Route(f"/api{path}", handler, methods=methods) for path, handler, methods in api]
        routes += [Route("/auth/authorization", h.authorization, methods=["GET", "POST"])]
        routes += [Route(f"/_admin{path}", handler, methods=methods) for path, handler, methods in admin.routes(h)]
        app = Starlette(routes=routes, exception_handlers={Refused: _on_refused, 404: _not_found, 405: _not_allowed})
        from ponte.contract import ContractMiddleware

        return ContractMiddleware(app, documented_contract(), reject=_refusal, mount="/api", skip=("/api/oauth",))


async def _on_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return answer(exc.body, exc.status, exc.headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    return answer(
        {"message": f"Resource {request.url.path} not found", "error": "not_found", "status": 404, "cause": []}, 404
    )


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return answer({"message": "Method not allowed", "error": "method_not_allowed", "status": 405, "cause": []}, 405)
