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

from ponte.i18n import pick_locale
from ponte.web.session import LANG_COOKIE

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages and static files on the app."""
    from ponte.web import (
        affiliates,
        alerts,
        catalog,
        catalog_bulk,
        connections,
        drift,
        erp_catalog,
        help,
        mapping,
        overview,
        pages,
        rules,
    )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(connections.router)
    app.include_router(affiliates.router)
    app.include_router(overview.router)
    app.include_router(alerts.router)
    app.include_router(rules.router)
    app.include_router(catalog.router)
    app.include_router(catalog_bulk.router)
    app.include_router(mapping.router)
    app.include_router(drift.router)
    app.include_router(erp_catalog.router)
    app.include_router(help.router)
    # Every article's links are held to the routes now, at start-up: a link to a screen that does not exist
    # stops the start with the file's name, rather than answering a 404 to an operator later.
    help.check_article_links(app)

    app.add_middleware(RememberLocale)
    app.add_middleware(SecurityHeaders)


# Scripts, styles and images from Ponte itself only; no inline script or style (htmx is told not to add its own
# style tag); no frames of Ponte on other sites; forms post to Ponte only.
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def policy_with_form_targets(origins: list[str]) -> str:
    """The pages' policy, letting forms also go to these origins (a marketplace's consent page, where "Conectar"
    sends the seller)."""
    extra = " ".join(sorted({o for o in origins if o and all(c not in o for c in " ;,'\"")}))
    return CONTENT_POLICY.replace("form-action 'self'", f"form-action 'self' {extra}".rstrip())


# The API's own docs page loads Swagger UI from its CDN and starts it with an inline script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Every answer says: no sniffing of content types, no framing, no referrer to other sites, and (pages) a
    Content Security Policy. Pure ASGI, like RememberLocale: a few header lines per answer and nothing more."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] == "/api/docs" else CONTENT_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers.setdefault(name.decode(), value.decode())
                headers.setdefault("content-security-policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
