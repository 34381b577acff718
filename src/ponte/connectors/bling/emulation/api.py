"""The emulated Bling API v3 at its real paths (`/Api/v3/…`), answering in the spec's shapes and refusing in Bling's
error envelope (bling.md § 1–7)."""

from __future__ import annotations

import base64
import gzip
import secrets
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ponte.connectors.bling.emulation.state import CODE_LIFE, BlingState, Company, Token

CANCELLED = 12
OPEN = 6  # "Em aberto"


class Refused(Exception):
    """An answer in Bling's error envelope: {"error": {"type", "message", "description", "fields"?}}."""

    def __init__(
        self, status: int, kind: str, message: str, description: str = "", *, fields: list[Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        error: dict[str, Any] = {"type": kind, "message": message, "description": description or message}
        if fields:
            error["fields"] = fields
        self.status, self.body = status, {"error": error | (extra or {})}


def answer(body: Any, status: int = 200) -> Response:
    if status == 204:
        return Response(status_code=204)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise Refused(400, "INVALID_REQUEST_BODY", "Corpo da requisição inválido")
    if not isinstance(body, dict):
        raise Refused(400, "INVALID_REQUEST_BODY", "Corpo da requisição inválido")
    return body


def validation(message: str, *fields: tuple[int, str, str]) -> Refused:
    """A VALIDATION_ERROR with its fields (code, msg, element), as Bling answers an order it cannot save."""
    return Refused(
        400, "VALIDATION_ERROR", message, "A venda não pode ser salva, pois ocorreram problemas em sua validação.",
        fields=[{"code": code, "msg": msg, "element": element, "namespace": "VENDAS"} for code, msg, element in fields],
    )  # fmt: skip


class BlingHandlers:
    def __init__(self, state: BlingState) -> None:
        self.state = state

    # -- plumbing -------------------------------------------------------------------------------------------
    def caller(self, request: Request) -> Company:
        """The company a bearer token acts for, after its per-second and daily limits."""
        scheme, _, access = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not access.strip():
            raise Refused(401, "invalid_request", "invalid_request", "Malformed auth header")
        token = self.state.holder(access.strip())
        if token is None:
            raise Refused(401, "invalid_token", "invalid_token", "The access token provided is invalid")
        company = self.state.companies[token.company_id]
        over = self.state.spend(company)
        if over is not None:
            limit, period = over
            what = "por segundo" if period == "second" else "diárias"
            raise Refused(
                429, "TOO_MANY_REQUESTS", "Limite de requisições atingido.",
                f"O limite de requisições {what} foi atingido, tente novamente mais tarde.",
                extra={"limit": limit, "period": period},
            )  # fmt: skip
        self.state.issue_due_notes(company)
        return company

    # -- consent and tokens (developer.bling.com.br/aplicativos) --------------------------------------------
    async def authorize(self, request: Request) -> Response:
        """The consent page (GET) and its approval (POST) back to the app's registered redirect link."""
        params = dict(request.query_params)
        if request.method == "POST":
            params |= dict(parse_qsl((await request.body()).decode()))
        app = self.state.apps.get(params.get("client_id", ""))
        if app is None or params.get("response_type") != "code":
            return HTMLResponse("<h1>Requisição inválida</h1><p>Aplicativo desconhecido.</p>", status_code=400)
        if request.method == "GET":
            return HTMLResponse(self._consent_page(params))
        back = {"state": params.get("state", "")}
        company = self.state.companies.get(params.get("company", ""))
        if params.get("decision") != "allow" or company is None:
            back |= {"error": "access_denied", "error_description": "O usuário negou o acesso"}
            return RedirectResponse(f"{app.redirect_uri}?{urlencode(back)}", status_code=302)
        code = secrets.token_hex(20)
        with self.state.lock:
            self.state.codes[code] = Token(app.client_id, company.id, self.state.now() + CODE_LIFE)
        return RedirectResponse(f"{app.redirect_uri}?{urlencode({'code': code, **back})}", status_code=302)

    def _consent_page(self, params: dict[str, str]) -> str:
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items())
        options = "".join(
            f'<option value="{escape(c.id)}">{escape(c.nome)}</option>' for c in self.state.companies.values()
        )
        return (
            '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Bling (emulação)</title></head>'
            "<body><h1>Bling — autorizar aplicativo</h1>"
            f'<form method="post">{hidden}<label>Empresa <select name="company">{options}</select></label>'
            '<button type="submit" name="decision" value="allow">Autorizar</button>'
            '<button type="submit" name="decision" value="deny">Cancelar</button></form></body></html>'
        )

    async def token(self, request: Request) -> Response:
        """`POST /oauth/token`: the app in Basic auth (not in the body), the grant form-encoded."""
        scheme, _, basic = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, client_secret = base64.b64decode(basic).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        app = self.state.apps.get(client_id)
        if scheme.lower() != "basic" or app is None or not secrets.compare_digest(app.client_secret, client_secret):
            raise Refused(401, "invalid_client", "invalid_client", "The client credentials are invalid")
        form = dict(parse_qsl((await request.body()).decode()))
        grant = form.get("grant_type")
        with self.state.lock:
            if grant == "authorization_code":
                return answer(self._trade_code(app.client_id, form.get("code", "")))
            if grant == "refresh_token":
                held = self.state.refresh.pop(form.get("refresh_token", ""), None)  # single use
                if held is None or held.client_id != app.client_id or held.expires < self.state.now():
                    raise Refused(400, "invalid_grant", "invalid_grant", "Invalid refresh token")
                self.state.refreshes += 1
                return answer(self.state.issue(app.client_id, held.company_id))
        raise Refused(400, "invalid_request", "invalid_request", f"Unsupported grant_type {grant!r}")

    def _trade_code(self, client_id: str, code: str) -> dict[str, Any]:
        held = self.state.codes.pop(code, None)
        if held is None:
            raise Refused(400, "VALIDATION_ERROR", "Invalid authorization code", "Invalid authorization code")
        if held.client_id != client_id or held.expires < self.state.now():
            raise Refused(400, "invalid_grant", "invalid_grant", "The authorization code has expired")
        return self.state.issue(client_id, held.company_id)

    # -- company --------------------------------------------------------------------------------------------
    async def company(self, request: Request) -> Response:
        company = self.caller(request)
        return answer({"data": {"id": company.id, "nome": company.nome, "cnpj": company.cnpj}})


def gzip64(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode())).decode()
