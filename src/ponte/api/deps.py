"""What every route depends on: the caller (from a Bearer token), its role, the database and the secret box.

Every route declares the role it needs with `Depends(require(Role.X))`; there is no route without one
(tests/test_api_access.py walks the routes to make sure).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ponte.api.problems import Problem
from ponte.auth import Principal
from ponte.domain import Role
from ponte.domain.messages import say
from ponte.i18n import DEFAULT_LOCALE, negotiate
from ponte.secrets import SecretBox
from ponte.services import tokens
from ponte.settings import Settings
from ponte.store.db import Database

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer pt_…`")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ponte"'}


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def authenticate(
    db: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of this request, from its Bearer token; 401 when there is none or it is unknown or revoked."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Problem(401, say("msg.api.token_required"), headers=_CHALLENGE)
    token = credentials.credentials.strip()
    if not token.startswith("pt_") or len(token) > 200:
        raise Problem(401, say("msg.api.token_invalid"), headers=_CHALLENGE)
    with db.read() as conn:
        found = tokens.principal_for_token(conn, token=token)
    if found is None:
        raise Problem(401, say("msg.api.token_revoked"), headers=_CHALLENGE)
    principal, token_id, last_used_at = found
    if tokens.needs_touch(last_used_at):
        with db.write() as conn:
            tokens.touch(conn, token_id=token_id)
    return principal


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that answers 403 unless the caller's role allows `role`."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.can(role):
            needs = say("msg.api.role", needed=say(f"role.{role.value}"), held=say(f"role.{principal.role.value}"))
            raise Problem(403, needs)
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency


async def reader_locale(request: Request) -> str:
    """The reader's language by `Accept-Language` (pt-BR, en or es; pt-BR when none of them is asked for)."""
    return negotiate(request.headers.get("accept-language")) or DEFAULT_LOCALE


ReaderLocale = Annotated[str, Depends(reader_locale)]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Db = Annotated[Database, Depends(get_db)]
Box = Annotated[SecretBox, Depends(get_box)]
AppSettings = Annotated[Settings, Depends(get_settings)]
