"""The sandbox's emulation of Amazon's Selling Partner API, mounted at /amazon.

The real connector runs against it by changing only its three base URLs: the API (`<sandbox>/amazon`), Login with
Amazon's token endpoint (`<sandbox>/amazon/auth/o2/token`) and Seller Central's consent page
(`<sandbox>/amazon/sellercentral`). Every request to the API is checked against Amazon's published models
(spec/, ponte.contract) and refused as SP-API refuses, `{"errors":[{"code":"InvalidInput",…}]}`; each operation's
default usage plan is enforced with 429 `QuotaExceeded`. Test helpers live under /amazon/_admin/ (admin.py).
Notifications are delivered as EventBridge delivers them to an API destination: the event, its `detail` the
notification (`callback` of an app registered with `_admin/apps`).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ponte.connectors.amazon.emulation.admin import Admin
from ponte.connectors.amazon.emulation.api import Refused, answer
from ponte.connectors.amazon.emulation.feeds import Feeds
from ponte.connectors.amazon.emulation.listings import Listings, iso
from ponte.connectors.amazon.emulation.lwa import Lwa
from ponte.connectors.amazon.emulation.orders import Orders
from ponte.connectors.amazon.emulation.state import Market
from ponte.contract import ContractMiddleware, Operation, Problem, contract
from ponte.sandbox.emulation import Emulation

LISTING = "/listings/2021-08-01/items/{sellerId}/{sku}"
PAYLOAD_VERSIONS = {"LISTINGS_ITEM_ISSUES_CHANGE": "2023-12-13", "ORDER_CHANGE": "1.0"}


def refuse(operation: Operation | None, problems: list[Problem]) -> tuple[int, Any]:
    """What the models refuse, refused in SP-API's error shape."""
    errors = [{"code": "InvalidInput", "message": p.message, "details": str(p)} for p in problems]
    return 400, {"errors": errors}


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return answer(exc.body, exc.status, exc.headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    return answer({"errors": [{"code": "NotFound", "message": f"Resource {request.url.path} not found"}]}, 404)


class AmazonEmulation(Emulation):
    kind = "amazon"

    def __init__(self) -> None:
        self.market = Market()
        self.lwa = Lwa(self.market)
        self.listings = Listings(self.market)
        self.admin = Admin(self.market, self.notify)
        self.orders = Orders(self.market, self.notify)
        self.feeds = Feeds(self.market)
        self._parts = [self.lwa, self.listings, self.admin, self.orders, self.feeds]
        lwa, li, admin, orders, feeds = self.lwa, self.listings, self.admin, self.orders, self.feeds
        routes = [
            Route("/auth/o2/token", lwa.token, methods=["POST"]),
            Route("/sellercentral/apps/authorize/consent", lwa.consent, methods=["GET", "POST"]),
            Route(LISTING, li.put, methods=["PUT"]),
            Route(LISTING, li.patch, methods=["PATCH"]),
            Route(LISTING, li.get, methods=["GET"]),
            Route(LISTING, li.delete, methods=["DELETE"]),
            Route("/listings/2021-08-01/items/{sellerId}", li.search, methods=["GET"]),
            Route("/feeds/2021-06-30/documents", feeds.create_document, methods=["POST"]),
            Route("/feeds/2021-06-30/documents/{feedDocumentId}", feeds.get_document, methods=["GET"]),
            Route("/feeds/2021-06-30/feeds", feeds.create_feed, methods=["POST"]),
            Route("/feeds/2021-06-30/feeds/{feedId}", feeds.get_feed, methods=["GET"]),
            Route("/_documents/{document_id}", feeds.upload, methods=["GET", "PUT"]),
            Route("/orders/2026-01-01/orders", orders.search, methods=["GET"]),
            Route("/orders/2026-01-01/orders/{orderId}", orders.get, methods=["GET"]),
            Route("/orders/v0/orders/{orderId}/shipmentConfirmation", orders.confirm_shipment, methods=["POST"]),
            Route("/_admin/apps", admin.apps, methods=["POST"]),
            Route("/_admin/sellers", admin.sellers, methods=["POST"]),
            Route("/_admin/grants", admin.grants, methods=["POST"]),
            Route("/_admin/grants/revoke", admin.revoke, methods=["POST"]),
            Route("/_admin/tokens/expire", admin.expire, methods=["POST"]),
            Route("/_admin/catalog", admin.catalog, methods=["POST"]),
            Route("/_admin/config", admin.config, methods=["POST"]),
            Route("/_admin/clock", admin.clock, methods=["POST"]),
            Route("/_admin/listings", admin.listings, methods=["GET"]),
            Route("/_admin/listings", admin.seed, methods=["POST"]),
            Route("/_admin/listings/{seller_id}/{sku}/issues", admin.issues, methods=["POST"]),
            Route("/_admin/calls", admin.calls, methods=["GET"]),
            Route("/_admin/notifications", admin.notifications, methods=["GET"]),
            Route("/_admin/orders", orders.place, methods=["POST"]),
            Route("/_admin/orders/{order_id}", orders.read, methods=["GET"]),
            Route("/_admin/orders/{order_id}/status", orders.status, methods=["POST"]),
        ]
        app = Starlette(routes=routes, exception_handlers={Refused: _refused, 404: _not_found})
        self._app = ContractMiddleware(
            app, contract("amazon"), reject=refuse, skip=("/_admin", "/_documents/", "/auth/o2/", "/sellercentral/")
        )

    @property
    def app(self) -> ASGIApp:
        return self._app  # type: ignore[return-value]  # an ASGI app; its scope is typed as a plain dict

    def reset(self) -> None:
        self._set(Market())

    def snapshot(self) -> Any:
        return self.market

    def restore(self, state: Any) -> None:
        if isinstance(state, Market):
            self._set(state)

    def _set(self, market: Market) -> None:
        self.market = market
        for part in self._parts:
            part.market = market

    async def notify(self, seller_id: str, kind: str, payload: dict[str, Any]) -> None:
        """A notification of `kind` about `seller_id`, kept (`market.notifications`) and posted to every app's
        callback, wrapped as EventBridge wraps it for an API destination."""
        market = self.market
        for app in list(market.apps.values()):
            at = iso(market.now())
            detail = {
                "NotificationVersion": "1.0",
                "NotificationType": kind,
                "PayloadVersion": PAYLOAD_VERSIONS.get(kind, "1.0"),
                "EventTime": at,
                "Payload": payload,
                "NotificationMetadata": {
                    "ApplicationId": app.application_id,
                    "SubscriptionId": f"sub-{kind.lower()}",
                    "PublishTime": at,
                    "NotificationId": str(uuid.uuid4()),
                },
            }
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": kind,
                "source": f"aws.partner/sellingpartnerapi.amazon/{app.application_id}",
                "time": at,
                "detail": detail,
            }
            status = None
            if app.callback:
                try:
                    async with httpx.AsyncClient(timeout=5.0) as client:
                        status = (await client.post(app.callback, json=event)).status_code
                except httpx.HTTPError:
                    status = None
            market.notifications.append({"seller_id": seller_id, "event": event, "to": app.callback, "status": status})
