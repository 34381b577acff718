"""What every emulated SP-API call goes through: the access token in `x-amz-access-token`, the operation's usage
plan (429 `QuotaExceeded` past it, `x-amzn-RateLimit-Limit` on every answer), and answers in the models' shapes
(`{"errors":[{"code","message","details"}]}` for errors, amazon-sp-api.md § 5)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ponte.connectors.amazon.emulation.state import Market, Seller

KEEP_CALLS = 50_000


class Refused(Exception):
    """An answer in SP-API's error shape."""

    def __init__(self, status: int, code: str, message: str, details: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.body = {"errors": [{"code": code, "message": message, "details": details}]}


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    sent = {"x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})}
    content = b"" if body is None else orjson.dumps(body)
    return Response(content, status_code=status, media_type="application/json", headers=sent)


class Api:
    """The handlers' shared state and checks."""

    def __init__(self, market: Market) -> None:
        self.market = market

    def seller(self, request: Request, operation: str) -> tuple[Seller, dict[str, str]]:
        """The seller whose access token came, after the operation's usage plan; and the headers to answer with."""
        market = self.market
        token = market.tokens.get(request.headers.get("x-amz-access-token", ""))
        if token is None:
            raise Refused(
                403, "Unauthorized", "Access to requested resource is denied.", "The access token is invalid."
            )
        if token.expires_at <= market.now():
            raise Refused(403, "Unauthorized", "Access to requested resource is denied.", "The access token expired.")
        seller = market.sellers[token.seller_id]
        rate = market.rates.get(operation, (0.0, 0.0))[0]
        headers = {"x-amzn-RateLimit-Limit": f"{rate:g}"}
        wait = market.take(seller.seller_id, operation)
        if wait is not None:
            raise Refused(429, "QuotaExceeded", "You exceeded your quota for the requested resource.", "", headers)
        if len(market.calls) > KEEP_CALLS:
            del market.calls[: len(market.calls) - KEEP_CALLS]
        return seller, headers

    @staticmethod
    def own(request: Request, seller: Seller) -> None:
        """The path's sellerId must be the token's seller."""
        if request.path_params.get("sellerId") not in (None, seller.seller_id):
            raise Refused(
                403, "Unauthorized", "Access to requested resource is denied.", "The seller is not authorized."
            )

    @staticmethod
    async def json(request: Request) -> Any:
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise Refused(400, "InvalidInput", "The request body is not valid JSON.")
