"""The emulated API host (`api.mercadolibre.com`'s paths) and consent host (`auth.mercadolivre.com.br`'s).

Served by `ponte sandbox` at `/mercadolivre/api/…` and `/mercadolivre/auth/…`, so that the real connector reaches
them by its two base URLs. Private calls want `Authorization: Bearer APP_USR-…` of a live token and spend the
application's quota (429 beyond it, per Client ID).
"""

from __future__ import annotations

import re
import secrets
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ponte.connectors.mercadolivre.emulation import rules
from ponte.connectors.mercadolivre.emulation.rules import Cause, error_body
from ponte.connectors.mercadolivre.emulation.state import Code, Item, MeliState, Seller, Token

CODE_LIFE = 600.0  # seconds an authorization code lives
_KEY = re.compile(r"(?:Id=\"NFe|<chNFe>)(\d{44})")


class Refused(Exception):
    """An answer in Mercado Livre's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        error: str,
        causes: list[Cause] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = error_body(status, message, error, causes)
        self.headers = headers or {}


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise Refused(400, "body.invalid_json", "bad_request")
    if not isinstance(data, dict):
        raise Refused(400, "body.invalid_json", "bad_request")
    return data


class MeliHandlers:
    """The endpoints, over one state."""

    def __init__(self, state: MeliState) -> None:
        self.state = state

    # -- plumbing -----------------------------------------------------------------------------------------
    def caller(self, request: Request) -> tuple[Token, Seller]:
        """The seller a bearer token belongs to, after the app's rate limit."""
        scheme, _, access = request.headers.get("authorization", "").partition(" ")
        token = self.state.holder(access.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise Refused(401, "invalid access token", "invalid_token", headers={"WWW-Authenticate": "Bearer"})
        wait = self.state.take(token.client_id)
        if wait is not None:
            self.state.throttled += 1
            # developers.mercadolivre.com.br/rate-limit-erro-429: no Retry-After is documented; none is sent.
            raise Refused(
                429,
                "Sorry, we couldn't process this request. Please, wait a few minutes and reprocess it",
                "local_rate_limited",
            )
        seller = self.state.sellers.get(token.user_id)
        if seller is None or not seller.active:
            raise Refused(403, "The caller is not authorized to access this resource. User not active", "forbidden")
        return token, seller

    def item_of(self, seller: Seller, item_id: str) -> Item:
        item = self.state.items.get(item_id)
        if item is None or item.seller_id != seller.user_id:
            raise Refused(404, f"Item with id {item_id} not found", "not_found")
        return item

    # -- consent and tokens (developers.mercadolivre.com.br/pt_br/autenticacao-e-autorizacao) ------------
    async def authorization(self, request: Request) -> Response:
        """The consent page a test seller approves (GET), and its approval (POST) back to the app's redirect URI."""
        params = dict(request.query_params)
        if request.method == "POST":
            params |= dict(parse_qsl((await request.body()).decode()))
        app = self.state.apps.get(params.get("client_id", ""))
        redirect = params.get("redirect_uri", "")
        if app is None or redirect not in app.redirect_uris or params.get("response_type") != "code":
            return HTMLResponse("<h1>Invalid request</h1><p>Unknown application or redirect_uri.</p>", status_code=400)
        if app.pkce_required and not params.get("code_challenge"):
            return HTMLResponse("<h1>Invalid request</h1><p>code_challenge is required.</p>", status_code=400)
        if request.method == "GET":
            return HTMLResponse(self._consent_page(params))
        back = {"state": params.get("state", "")}
        if params.get("decision") != "allow":
            back |= {"error": "access_denied", "error_description": "The user denied the application"}
            return RedirectResponse(f"{redirect}?{urlencode(back)}", status_code=302)
        seller = self.state.sellers.get(int(params.get("user_id") or 0))
        if seller is None:
            return HTMLResponse("<h1>Unknown seller</h1>", status_code=400)
        code = f"TG-{secrets.token_hex(12)}-{seller.user_id}"
        with self.state.lock:
            self.state.codes[code] = Code(
                app.client_id, seller.user_id, redirect, params.get("code_challenge"), self.state.clock() + CODE_LIFE
            )
        return RedirectResponse(f"{redirect}?{urlencode({'code': code, **back})}", status_code=302)

    def _consent_page(self, params: dict[str, str]) -> str:
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items())
        options = "".join(
            f'<option value="{s.user_id}">{escape(s.nickname)} ({s.user_id})</option>'
            for s in self.state.sellers.values()
        )
        return (
            '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Mercado Livre (emulação)</title></head>'
            "<body><h1>Mercado Livre — autorizar aplicativo</h1>"
            f'<form method="post">{hidden}<label>Conta de vendedor <select name="user_id">{options}</select></label>'
            '<button type="submit" name="decision" value="allow">Permitir</button>'
            '<button type="submit" name="decision" value="deny">Cancelar</button></form></body></html>'
        )

    async def token(self, request: Request) -> Response:
        """`POST /oauth/token`, form-encoded (the parameters in the body, never the query [O])."""
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise Refused(400, "the parameters must go in the body, form-encoded", "invalid_request")
        form = dict(parse_qsl((await request.body()).decode()))
        app = self.state.apps.get(form.get("client_id", ""))
        if app is None or not secrets.compare_digest(app.client_secret, form.get("client_secret", "")):
            raise Refused(401, "invalid client_id or client_secret", "invalid_client")
        grant = form.get("grant_type")
        with self.state.lock:
            if grant == "authorization_code":
                return answer(self._trade_code(app, form))
            if grant == "refresh_token":
                held = self.state.refresh.pop(form.get("refresh_token", ""), None)  # single use
                if held is None or held.client_id != app.client_id:
                    raise Refused(
                        400,
                        "Error validating grant. Your authorization code or refresh token may be expired or it was already used",
                        "invalid_grant",
                    )
                self.state.refreshes += 1
                return answer(self.state.issue(app.client_id, held.user_id))
        raise Refused(400, f"unsupported grant_type {grant!r}", "unsupported_grant_type")

    def _trade_code(self, app: Any, form: dict[str, str]) -> dict[str, Any]:
        code = self.state.codes.pop(form.get("code", ""), None)
        invalid = (
            "Error validating grant. Your authorization code or refresh token may be expired or it was already used"
        )
        if code is None or code.client_id != app.client_id or code.expires < self.state.clock():
            raise Refused(400, invalid, "invalid_grant")
        if code.redirect_uri != form.get("redirect_uri"):
            raise Refused(400, "redirect_uri does not match the one of the authorization", "invalid_grant")
        if code.challenge is not None:
            import base64
            import hashlib

            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != code.challenge:
                raise Refused(400, "code_verifier does not match the code_challenge", "invalid_grant")
        return self.state.issue(app.client_id, code.user_id)

    # -- sellers ------------------------------------------------------------------------------------------
    async def me(self, request: Request) -> Response:
        _, seller = self.caller(request)
        return answer(
            {
                "id": seller.user_id,
                "nickname": seller.nickname,
                "site_id": rules.SITE,
                "country_id": "BR",
                "tags": seller.tags,
            }
        )

    # -- categories ---------------------------------------------------------------------------------------
    async def categories(self, request: Request) -> Response:
        roots = [c for c in rules.CATEGORIES.values() if c.parent is None]
        return answer([{"id": f"{rules.SITE}{c.number}", "name": c.name} for c in roots])

    async def category(self, request: Request) -> Response:
        found = rules.category(request.path_params["category_id"])
        if found is None:
            raise Refused(404, "Category not found", "not_found")
        return answer(rules.category_json(found))

    async def category_attributes(self, request: Request) -> Response:
        found = rules.category(request.path_params["category_id"])
        if found is None:
            raise Refused(404, "Category not found", "not_found")
        return answer(rules.attributes_json(found))

    async def predictor(self, request: Request) -> Response:
        limit = int(request.query_params.get("limit") or 4)
        return answer(rules.predict(request.query_params.get("q", ""), max(1, min(limit, 8))))
