"""The Connections pages (server-rendered with Jinja and htmx, pt-BR and English).

`install(app)` mounts the pages, the static files, the session-aware error pages and the locale switch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from ponte.web.i18n import pick_locale
from ponte.web.session import LANG_COOKIE

STATIC = Path(__file__).parent / "static"


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api")


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

    @app.middleware("http")
    async def remember_locale(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        chosen = pick_locale(request.query_params.get("lang"))
        if chosen and _is_page(request):
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
        return response
