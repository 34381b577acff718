"""Web sessions: a sealed cookie (Fernet, with the app's secret key), CSRF tokens, and the signed-in Principal.

The cookie holds only the user's e-mail, a CSRF token and an expiry; the user (and so the role) is read
again on every request, so a changed role or a removed user takes effect at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from fastapi import Request
from sqlalchemy import select

from ponte.auth import Principal
from ponte.domain import Role
from ponte.secrets import SecretBox, SecretsError
from ponte.store.tables import users
from ponte.web.i18n import DEFAULT_LOCALE, pick_locale

SESSION_COOKIE = "ponte_session"
LANG_COOKIE = "ponte_lang"
FLASH_COOKIE = "ponte_flash"
SESSION_SECONDS = 12 * 3600
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this action."""


class CsrfFailed(Exception):
    """A POST without the session's CSRF token."""


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def new_session(request: Request, email: str) -> str:
    """The cookie value for a fresh session of `email`."""
    payload = {"email": email, "csrf": secrets.token_urlsafe(24), "exp": int(time.time()) + SESSION_SECONDS}
    return _box(request).seal(payload)


def read_session(request: Request) -> dict[str, Any] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        data = _box(request).open(token)
    except SecretsError:
        return None
    if int(data.get("exp", 0)) < time.time():
        return None
    return data


def current_principal(request: Request) -> Principal:
    """The signed-in user as a Principal (cached on the request); LoginRequired when there is none."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    data = read_session(request)
    if data is None:
        raise LoginRequired()
    with request.app.state.db.read() as conn:
        row = conn.execute(
            select(users.c.account_id, users.c.email, users.c.role).where(users.c.email == data["email"])
        ).first()
    if row is None:
        raise LoginRequired()
    principal = Principal(account_id=int(row.account_id), actor=row.email, role=Role(row.role))
    request.state.principal = principal
    request.state.csrf = data["csrf"]
    return principal


def require(request: Request, role: Role) -> Principal:
    principal = current_principal(request)
    if not principal.can(role):
        raise Forbidden()
    return principal


async def check_csrf(request: Request) -> None:
    """A POST must carry the session's token, in the X-CSRF-Token header (htmx) or the csrf form field."""
    current_principal(request)
    expected = request.state.csrf
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise CsrfFailed()


def request_locale(request: Request) -> str:
    """?lang= wins (and is remembered by the middleware), then the cookie, then pt-BR."""
    return (
        pick_locale(request.query_params.get("lang")) or pick_locale(request.cookies.get(LANG_COOKIE)) or DEFAULT_LOCALE
    )
