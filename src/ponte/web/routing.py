"""Page routes that turn service and session errors into pages, without app-wide handlers.

The API answers the same exceptions (NotFound, InputError) its own way; catching them per route keeps the
two edges from overriding each other's handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from ponte.services.errors import InputError, NotFound
from ponte.web.session import CsrfFailed, Forbidden, LoginRequired

MAX_ID = 2**62  # ids are 64-bit in the database; anything past this is no row's id, and a 4xx, never a 500
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def as_id(text: object) -> int | None:
    """A row id from a query or form value, or None when it cannot be one ("", "²", "9" * 40, "-1")."""
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def _login_redirect(request: Request) -> Response:
    target = "/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, exc: Exception) -> Response:
    from ponte.web.render import render, told

    if isinstance(exc, LoginRequired):
        return _login_redirect(request)
    if isinstance(exc, Forbidden):
        return render(request, "error.html", 403, code=403, key="error.forbidden")
    if isinstance(exc, CsrfFailed):
        return render(request, "error.html", 403, code=403, key="error.csrf")
    if isinstance(exc, NotFound):
        return render(request, "error.html", 404, code=404, key="error.not_found")
    if isinstance(exc, RequestValidationError):  # a path like /integrations/999…9 or /integrations/abc
        return render(request, "error.html", 404, code=404, key="error.not_found")
    assert isinstance(exc, InputError)
    detail = told(request, exc)
    return render(request, "error.html", 400, code=400, key="error.bad_input", detail=detail)


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (LoginRequired, Forbidden, CsrfFailed, NotFound, InputError, RequestValidationError) as exc:
                return error_page(request, exc)

        return guarded
