"""Web sessions: a random token in an HTTP-only cookie, its SHA-256 in the database; CSRF tokens; the Principal.

A session is a row: logging out deletes it, so a copied cookie stops working at once, and the user (and so the
role) is read with it on every request, so a changed role or a removed user takes effect at once. The login
form has its own CSRF token (a random cookie the form must repeat), as no session exists yet.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from fastapi import Request, Response

from ponte.auth import Principal
from ponte.clock import now
from ponte.domain import Role
from ponte.i18n import DEFAULT_LOCALE, negotiate, pick_locale
from ponte.store import sessions

SESSION_COOKIE = "ponte_session"
LOGIN_CSRF_COOKIE = "ponte_login_csrf"
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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(request: Request, response: Response, *, user_id: int) -> None:
    """Open a session for the user and set its cookie on `response`. A new token each time (no fixation)."""
    token, when = secrets.token_urlsafe(32), now()
    with request.app.state.db.write() as conn:
        sessions.create_session(
            conn,
            token_hash=_hash(token),
            user_id=user_id,
            csrf=secrets.token_urlsafe(24),
            now=when,
            expires_at=when + timedelta(seconds=SESSION_SECONDS),
        )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def end_session(request: Request, response: Response) -> None:
    """End the session on the server and forget its cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with request.app.state.db.write() as conn:
            sessions.end_session(conn, token_hash=_hash(token))
    response.delete_cookie(SESSION_COOKIE)


def read_session(request: Request) -> sessions.SessionUser | None:
    """The session's user and csrf token, or None when there is no live session."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    with request.app.state.db.read() as conn:
        return sessions.session_user(conn, token_hash=_hash(token), now=now())


def current_principal(request: Request) -> Principal:
    """The signed-in user as a Principal (cached on the request); LoginRequired when there is none."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    user = read_session(request)
    if user is None:
        raise LoginRequired()
    principal = Principal(account_id=user.account_id, actor=user.email, role=Role(user.role))
    request.state.principal = principal
    request.state.csrf = user.csrf
    return principal


def login_csrf(request: Request) -> str:
    """The login form's CSRF token: the one its cookie already holds, or a new one (set by `remember_login_csrf`)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    return token if 20 <= len(token) <= 64 else secrets.token_urlsafe(24)


def remember_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def login_csrf_ok(request: Request, given: str) -> bool:
    """A login POST repeats the token its cookie holds: a form posted from another site has neither."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    return bool(expected) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


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
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfFailed()


def request_locale(request: Request) -> str:
    """?lang= wins (and is remembered by the middleware), then the cookie, then the browser's Accept-Language,
    then pt-BR."""
    return (
        pick_locale(request.query_params.get("lang"))
        or pick_locale(request.cookies.get(LANG_COOKIE))
        or negotiate(request.headers.get("accept-language"))
        or DEFAULT_LOCALE
    )
