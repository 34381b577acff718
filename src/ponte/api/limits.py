"""The request body size limit, enforced before any route reads the body.

A declared Content-Length over the limit is refused at once; a chunked body is counted as it streams
and refused as soon as it crosses the limit, so an oversize request never reaches a service.
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ponte.api.problems import PROBLEM


class BodyTooLarge(StarletteHTTPException):
    """Raised from inside receive(): FastAPI re-raises HTTP exceptions while reading a body, so the
    exception handlers answer it as a 413 problem; the middleware answers it itself otherwise."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


def _problem_body(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": f"the request body is larger than the limit of {limit} bytes",
        }
    ).encode()


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = _problem_body(self.limit)
        headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# A NUL anywhere in a request: raw, %-encoded (a form, a query string) or as a JSON escape that is not itself
# escaped (an even number of backslashes before it). PostgreSQL keeps no NUL in text, so an entity or a name
# holding one would fail at the database as a 500; no field of Ponte has a use for it.
_NUL = re.compile(rb"\x00|%00|(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
NUL_DETAIL = "the request holds a NUL character (\\u0000 or %00), which no field accepts"
# The pages whose multipart form carries a binary file (an .xlsx is a zip, full of NUL bytes): their bodies are not
# searched, and the route refuses a NUL in its text fields itself (web/mapping.py `import_sheet`).
BINARY_UPLOADS = re.compile(r"/catalog/mapping/[0-9]+/import")


class RefuseNulMiddleware:
    """Refuses, with a 400, any request whose path, query or body holds a NUL, before a route reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL.search(scope.get("raw_path") or b"") or _NUL.search(scope.get("query_string") or b""):
            await _refuse_nul(scope, send)
            return
        if BINARY_UPLOADS.fullmatch(scope["path"]) and _is_multipart(scope):
            await self.app(scope, receive, send)
            return
        tail = b""
        started = False

        async def checking_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = tail + message.get("body", b"")
                if _NUL.search(chunk):
                    raise NulInRequest()
                tail = chunk[-16:]  # a marker split between two chunks is found in the next one
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, checking_receive, tracking_send)
        except NulInRequest:
            if not started:
                await _refuse_nul(scope, send)


def _is_multipart(scope: Scope) -> bool:
    return any(name == b"content-type" and value.startswith(b"multipart/form-data") for name, value in scope["headers"])


class NulInRequest(StarletteHTTPException):
    """Raised from inside receive(): answered as a 400 problem by the API's handlers, or by the middleware."""

    def __init__(self) -> None:
        super().__init__(400, NUL_DETAIL)


async def _refuse_nul(scope: Scope, send: Send) -> None:
    if scope["path"].startswith("/api/"):
        body = json.dumps({"type": "about:blank", "title": "Bad Request", "status": 400, "detail": NUL_DETAIL}).encode()
        kind = PROBLEM.encode()
    else:
        body, kind = NUL_DETAIL.encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
