"""Login with Amazon as the emulation plays it: Seller Central's consent page (the website authorisation workflow)
and the token endpoint, `POST /auth/o2/token` (form-encoded; errors as `{"error","error_description"}`).

Sources: developer-docs.amazon.com/sp-api/docs/website-authorization-workflow (the consent URL's
`application_id`, `state`, `redirect_uri`, `version=beta`; the callback's `state`, `selling_partner_id`,
`spapi_oauth_code`, a code that lives five minutes); amazon-sp-api.md § 1 (grants and error codes).
"""

from __future__ import annotations

import secrets
from html import escape
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ponte.connectors.amazon.emulation.api import Api, answer
from ponte.connectors.amazon.emulation.state import Token

CODE_LIFE = 300.0  # the authorization code expires after five minutes


def _lwa_error(status: int, error: str, description: str) -> Response:
    return answer({"error": error, "error_description": description}, status)


class Lwa(Api):
    async def consent(self, request: Request) -> Response:
        """GET: the page where a seller approves the app; POST: its decision, sent back to the redirect URI."""
        params = dict(request.query_params)
        if request.method == "POST":
            params |= {k: str(v) for k, v in (await request.form()).items()}
        market = self.market
        app = next((a for a in market.apps.values() if a.application_id == params.get("application_id")), None)
        redirect = params.get("redirect_uri", "")
        if app is None or (app.redirect_uris and redirect not in app.redirect_uris):
            return HTMLResponse("<h1>Error</h1><p>Unknown application or redirect_uri.</p>", status_code=400)
        if request.method == "GET":
            return HTMLResponse(self._page(params))
        back = {"state": params.get("state", "")}
        seller = market.sellers.get(params.get("seller_id", ""))
        if params.get("decision") != "confirm" or seller is None:
            back |= {"error": "access_denied", "error_description": "The seller did not authorize the application"}
            return RedirectResponse(f"{redirect}?{urlencode(back)}", status_code=302)
        code = f"ANSW{secrets.token_hex(10)}"
        with market.lock:
            market.codes[code] = (app.client_id, seller.seller_id, redirect, market.now() + CODE_LIFE)
        back |= {"selling_partner_id": seller.seller_id, "spapi_oauth_code": code}
        return RedirectResponse(f"{redirect}?{urlencode(back)}", status_code=302)

    def _page(self, params: dict[str, str]) -> str:
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items())
        options = "".join(
            f'<option value="{escape(s.seller_id)}">{escape(s.name)} ({escape(s.seller_id)})</option>'
            for s in self.market.sellers.values()
        )
        return (
            '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Seller Central (emulação)</title>'
            "</head><body><h1>Amazon Seller Central — autorizar aplicativo</h1>"
            f'<form method="post">{hidden}<label>Conta <select name="seller_id">{options}</select></label>'
            '<button type="submit" name="decision" value="confirm">Confirmar</button>'
            '<button type="submit" name="decision" value="cancel">Cancelar</button></form></body></html>'
        )

    async def token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _lwa_error(400, "invalid_request", "The request must be form-encoded")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        market = self.market
        app = market.apps.get(form.get("client_id", ""))
        if app is None or not secrets.compare_digest(app.client_secret, form.get("client_secret", "")):
            return _lwa_error(401, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type")
        with market.lock:
            if grant == "authorization_code":
                found = market.codes.pop(form.get("code", ""), None)
                if found is None or found[0] != app.client_id or found[3] < market.now():
                    return _lwa_error(400, "invalid_grant", "The authorization code is invalid or has expired")
                if found[2] and form.get("redirect_uri") != found[2]:
                    return _lwa_error(400, "invalid_grant", "The redirect_uri does not match")
                seller_id = found[1]
                refresh = f"Atzr|{secrets.token_urlsafe(24)}"
                market.refresh_tokens[refresh] = (app.client_id, seller_id)
            elif grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                held = market.refresh_tokens.get(refresh)
                if held is None or held[0] != app.client_id:
                    return _lwa_error(400, "invalid_grant", "The refresh token is invalid or was revoked")
                seller_id = held[1]
            else:
                return _lwa_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
            access = f"Atza|{secrets.token_urlsafe(24)}"
            market.tokens[access] = Token(app.client_id, seller_id, market.now() + market.token_ttl)
        body = {"access_token": access, "token_type": "bearer", "expires_in": int(market.token_ttl)}
        if grant == "authorization_code":
            body["refresh_token"] = refresh
        return answer(body)
