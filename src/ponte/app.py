"""The web application: the REST API, the Connections pages and /healthz, on one ASGI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ponte import __version__
from ponte.secrets import SecretBox
from ponte.settings import Settings
from ponte.store.db import Database

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
    app.state.settings = settings
    app.state.db = database
    app.state.box = SecretBox.from_environment(settings.secret_key_file)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with database.read() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    _include_optional_routers(app)
    return app


def _include_optional_routers(app: FastAPI) -> None:
    from ponte.api import install as install_api
    from ponte.web import install as install_web

    install_api(app)
    install_web(app)
