"""The sandbox's emulation of a Mirakl operator's seller API, mounted at /mirakl.

The real connector runs against it by changing only its base URL (`<sandbox>/mirakl`). Every request is checked
against Mirakl's published spec (ponte.contract) and refused as Mirakl refuses, `{"status": 400, "message": …}`;
answers are in the spec's shapes. Imports are judged `import_seconds` after they arrive (30 s of the emulation's
clock; `_admin/clock` moves it), each call's documented maximum frequency is enforced with 429, and test helpers
live under /mirakl/_admin/ (admin.py).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ponte.connectors.mirakl.emulation.admin import Admin
from ponte.connectors.mirakl.emulation.api import Refusal, SellerApi
from ponte.connectors.mirakl.emulation.state import Operator
from ponte.contract import ContractMiddleware, Operation, Problem, contract
from ponte.sandbox.emulation import Emulation


def refuse(operation: Operation | None, problems: list[Problem]) -> tuple[int, Any]:
    """What the spec refuses, refused in Mirakl's error shape."""
    return 400, {"status": 400, "message": "; ".join(str(problem) for problem in problems)}


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return exc.response()


class MiraklEmulation(Emulation):
    kind = "mirakl"

    def __init__(self) -> None:
        self.operator = Operator()
        api, admin = SellerApi(self.operator), Admin(self.operator)
        self._api, self._admin = api, admin
        routes = [
            Route("/api/account", api.account, methods=["GET"]),
            Route("/api/version", api.version, methods=["GET"]),
            Route("/api/offers", api.offers, methods=["POST"]),
            Route("/api/offers/export", api.offers_export, methods=["GET"]),
            Route("/api/offers/imports", api.offer_file, methods=["POST"]),
            Route("/api/offers/imports/{import}", api.offer_import, methods=["GET"]),
            Route("/api/offers/imports/{import}/error_report", api.offer_report, methods=["GET"]),
            Route("/api/products/imports", api.product_file, methods=["POST"]),
            Route("/api/products/imports/{import}", api.product_import, methods=["GET"]),
            Route("/api/products/imports/{import}/error_report", api.product_report, methods=["GET"]),
            Route(
                "/api/products/imports/{import}/transformation_error_report",
                api.transformation_report,
                methods=["GET"],
            ),
            Route("/api/hierarchies", api.hierarchies, methods=["GET"]),
            Route("/api/products/attributes", api.attributes, methods=["GET"]),
            Route("/api/values_lists", api.values_lists, methods=["GET"]),
            Route("/api/orders", api.orders, methods=["GET"]),
            Route("/api/orders/{order_id}/accept", api.accept, methods=["PUT"]),
            Route("/api/orders/{order_id}/tracking", api.tracking, methods=["PUT"]),
            Route("/api/orders/{order_id}/ship", api.ship, methods=["PUT"]),
            Route("/_admin/shops", admin.shops, methods=["POST"]),
            Route("/_admin/catalog", admin.catalog, methods=["POST"]),
            Route("/_admin/config", admin.config, methods=["POST"]),
            Route("/_admin/clock", admin.clock, methods=["POST"]),
            Route("/_admin/orders", admin.place_order, methods=["POST"]),
            Route("/_admin/orders/{order_id}", admin.order, methods=["GET"]),
            Route("/_admin/shops/{shop_id}/offers", admin.offers, methods=["GET"]),
            Route("/_admin/shops/{shop_id}/offers", admin.seed_offers, methods=["POST"]),
            Route("/_admin/shops/{shop_id}/products", admin.shop_products, methods=["POST"]),
            Route("/_admin/shops/{shop_id}/offers/{sku}", admin.change_offer, methods=["POST"]),
            Route("/_admin/calls", admin.calls, methods=["GET"]),
        ]
        app = Starlette(routes=routes, exception_handlers={Refusal: _refused})
        # Mounted at /mirakl by the sandbox (the mount is the request's root_path); tests may mount it elsewhere.
        self._app = ContractMiddleware(app, contract("mirakl"), reject=refuse, skip=("/_admin",))

    @property
    def app(self) -> ASGIApp:
        return self._app  # type: ignore[return-value]  # an ASGI app; its scope is typed as a plain dict

    def reset(self) -> None:
        self._set(Operator())

    def snapshot(self) -> Any:
        return self.operator

    def restore(self, state: Any) -> None:
        if isinstance(state, Operator):
            self._set(state)

    def _set(self, operator: Operator) -> None:
        self.operator = self._api.operator = self._admin.operator = operator
