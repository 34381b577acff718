"""The web application: the REST API, the Connections pages and /healthz, on one ASGI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError

from ponte import __version__
from ponte.connectors import outbound
from ponte.secrets import SecretBox
from ponte.settings import Settings
from ponte.store.db import Database, ping

log = logging.getLogger("ponte.app")


def create_app(settings: Settings, *, db: Database | None = None) -> FastAPI:
    """Build the app. The database is opened here and closed on shutdown; migrations are not run here."""
    database = db or Database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if db is None:
            database.dispose()

    app = FastAPI(
        title="Ponte API",
        version=__version__,
        description="Marketplace integration hub: catalog, prices, stock, orders and tracking, every attempt recorded.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    outbound.allow(settings.outbound_allow)  # the operator's exceptions to the outbound address policy
    app.state.settings = settings
    app.state.db = database
    app.state.box = SecretBox.from_environment(settings.secret_key_file)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with database.read() as conn:
                ping(conn)
        except OperationalError:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        from ponte.metrics import CONTENT_TYPE, render_metrics, token_allows

        if not token_allows(settings.metrics_token, request.headers.get("authorization")):
            return Response("a bearer token is required\n", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(render_metrics(database), media_type=CONTENT_TYPE)

    app.add_exception_handler(DBAPIError, _database_unavailable)
    _include_optional_routers(app)
    return app


UNAVAILABLE_EN = "Ponte is temporarily unavailable: the database cannot be reached. Try again in a few seconds."
UNAVAILABLE_PT = "O Ponte está temporariamente indisponível: o banco de dados não responde. Tente de novo em instantes."
UNAVAILABLE_PAGE = f"""<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>Temporariamente indisponível</title>
<meta http-equiv="refresh" content="10"></head>
<body><h1>Temporariamente indisponível · Temporarily unavailable</h1>
<p>{UNAVAILABLE_PT}</p><p lang="en">{UNAVAILABLE_EN}</p></body></html>
"""


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """503 while the database is down or restarting; any other database error stays a 500 (a bug to see)."""
    if not isinstance(exc, OperationalError) and not getattr(exc, "connection_invalidated", False):
        raise exc
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    headers = {"Retry-After": "10"}
    wants_json = request.url.path.startswith("/api/") or "json" in request.headers.get("accept", "")
    if wants_json:
        body = {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": UNAVAILABLE_EN,
            "detail_pt": UNAVAILABLE_PT,
        }
        return JSONResponse(body, status_code=503, media_type="application/problem+json", headers=headers)
    return HTMLResponse(UNAVAILABLE_PAGE, status_code=503, headers=headers)


def _include_optional_routers(app: FastAPI) -> None:
    from ponte.api import install as install_api
    from ponte.web import install as install_web

    install_api(app)
    install_web(app)
