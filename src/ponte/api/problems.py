"""Errors as `application/problem+json` (RFC 9457): a title, a clear detail and, when known, the offending field.

Services raise InputError / NotFound; routes raise Problem for what only the edge knows (auth, limits).
Handlers answer problem+json on API paths and leave the pages' own error handling alone elsewhere.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ponte.domain.messages import Message
from ponte.i18n import DEFAULT_LOCALE, Translator, english, negotiate
from ponte.secrets import SecretsError
from ponte.services.errors import InputError, NotFound

PROBLEM = "application/problem+json"
API_PREFIX = "/api/"
# Paths machines call (the REST API, marketplaces' notifications): their errors are problem+json, the pages' HTML.
MACHINE_PATHS = (API_PREFIX, "/notifications/")


class Problem(Exception):
    """An error to answer as problem+json with `status`; Ponte's own words (a `Message`) in the caller's language."""

    def __init__(
        self, status: int, detail: str | Message, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.said = detail if isinstance(detail, Message) else None
        self.message = english(detail) if isinstance(detail, Message) else detail
        super().__init__(self.message)
        self.status = status
        self.field = field
        self.headers = headers


def problem_response(
    status: int, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_of(loc: Any) -> str | None:
    # FastAPI prefixes where the value came from ("body", "query"…); the caller wants the field path.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or None


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "field required"
    return msg


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(MACHINE_PATHS):
        return await request_validation_exception_handler(request, exc)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = _field_of(first.get("loc", ()))
    detail = f"{field}: {_message(first)}" if field else _message(first)
    listed = [{"field": _field_of(e.get("loc", ())), "message": _message(e)} for e in errors[:20]]
    return problem_response(422, detail, field=field, errors=listed)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not request.url.path.startswith(MACHINE_PATHS):
        return await http_exception_handler(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, _told(request, exc), field=exc.field, headers=exc.headers)


def _told(request: Request, exc: InputError | NotFound | Problem) -> str:
    """Ponte's own words in the caller's Accept-Language; an error raised with a plain text, as it was raised."""
    if exc.said is None:
        return exc.message
    return Translator(negotiate(request.headers.get("accept-language")) or DEFAULT_LOCALE).said(exc.said, exc.message)


async def _input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputError)
    return problem_response(422, _told(request, exc), field=exc.field)


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return problem_response(404, _told(request, exc) or "not found")


async def _secrets(_request: Request, _exc: Exception) -> Response:
    # Never say more: the detail of a key problem belongs in the server's log, not to the caller.
    return problem_response(500, "stored connector secrets cannot be opened; ask the administrator to check the key")


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(InputError, _input)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(SecretsError, _secrets)
