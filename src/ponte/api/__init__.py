"""The REST API, version 1: routers per resource, Bearer-token auth with roles, problem+json errors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from ponte.api import (
    account,
    affiliates,
    alerts,
    catalog,
    integrations,
    notifications,
    orders,
    reports,
    rules,
    webhooks,
)
from ponte.api.limits import BodyLimitMiddleware, RefuseNulMiddleware
from ponte.api.problems import PROBLEM, install_handlers
from ponte.api.schemas import PROBLEM_RESPONSES

PREFIX = "/api/v1"


def install(app: FastAPI) -> None:
    """Mount the API routers, the error handlers and the body size limit on the app."""
    install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=app.state.settings.request_limit)
    app.add_middleware(RefuseNulMiddleware)  # pages and API alike: no field of Ponte holds a NUL
    v1 = APIRouter(prefix=PREFIX, responses=PROBLEM_RESPONSES)
    for module in (affiliates, catalog, orders, integrations, reports, account, alerts, rules):
        v1.include_router(module.router)
    app.include_router(v1)
    # Marketplaces authenticate by signature, not by token: no token problems documented there.
    app.include_router(webhooks.router, prefix=PREFIX)
    app.include_router(notifications.router)  # at the root: the URL registered in each marketplace's app
    _problem_schemas(app)


def _problem_schemas(app: FastAPI) -> None:
    """Document error bodies under application/problem+json only, which is what they are sent as."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status.isdigit() and int(status) >= 400 and "application/json" in content:
                        content[PROBLEM] = content.pop("application/json")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
