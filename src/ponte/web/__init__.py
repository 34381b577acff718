"""The Connections pages (server-rendered with Jinja and htmx, pt-BR and English).

`install(app)` mounts the pages, the static files, the session-aware error pages and the locale switch.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ponte.web.i18n import pick_locale
from ponte.web.session import LANG_COOKIE

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages and static files on the app."""
    from ponte.web import affiliates, alerts, connections, overview, pages, rules

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(connections.router)
    app.include_router(affiliates.router)
    app.include_router(overview.router)
    app.include_router(alerts.router)
    app.include_router(rules.router)

    app.add_middleware(RememberLocale)


class RememberLocale:
    """A page opened with `?lang=` remembers that language in a cookie.

    Pure ASGI, and API requests pass straight through: as a `BaseHTTPMiddleware` it wrapped every API
    request in an extra task and response stream (about a tenth of a list request's time).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = None
        if scope["type"] == "http" and not scope["path"].startswith("/api"):
            chosen = pick_locale(QueryParams(scope["query_string"]).get("lang"))
        if not chosen:
            await self.app(scope, receive, send)
            return
        cookie = _cookie_header(chosen)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie_header(locale: str) -> str:
    response = Response()  # Starlette's own cookie formatting
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
    return response.headers["set-cookie"]
