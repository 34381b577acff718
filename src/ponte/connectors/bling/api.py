"""Calls to Bling's API v3 as the seller's company, and its OAuth token endpoint (bling.md § 1–2).

A call takes a token of each of Bling's per-account limits (3 requests a second, 120 000 a day: the shared buckets
every worker draws from), then the company's access token from the credential store; a 401 means the token died
before its time, so it is renewed once (by whichever process gets there first) and the call made again. A 429
pauses the account's calls for every worker.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from ponte.clock import now
from ponte.connectors.base import CallFailed, Grant, GrantRefused
from ponte.connectors.bling.errors import DEFAULT_RETRY, failure
from ponte.connectors.context import ConnectorContext
from ponte.connectors.http import HttpClient, HttpResult
from ponte.domain.messages import say

# Opaque tokens are being retired: `enable-jwt: 1` on /oauth/token (both grants) and on every API call asks for
# a JWT (developer.bling.com.br/migracao-jwt, bling.md § 1).
JWT = {"enable-jwt": "1"}
OPERATIONS = ("api", "day")  # every call spends one of each (declared in BlingConnector.rates)
ANSWER_LIMIT = 4_000_000  # bytes of an answer read (an NF-e document, gzip + base64, runs to tens of KB)


class BlingApi:
    """The API host (`api_url`) reached with the company's credentials and the shared rate limits."""

    def __init__(
        self,
        api_url: str,
        *,
        client_id: str,
        client_secret: str,
        context: ConnectorContext,
        refresh: Callable[[Grant], Grant],
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.context = context
        self.refresh = refresh
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic = f"Basic {basic}"
        self.http = HttpClient(
            api_url,
            timeout=context.timeout,
            body_limit=max(context.body_limit, ANSWER_LIMIT // 4),
            secrets=[client_secret, basic],
        )
        self._known: set[str] = set()

    def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> HttpResult:
        """One call as the company. Raises Deferred (rate limit), CredentialsMissing or CredentialsRevoked."""
        for operation in OPERATIONS:
            self.context.limits.acquire(operation)
        token = self.context.credentials.access_token(self.refresh)
        result = self._send(token, method, path, json, params)
        if result.status == 401:
            token = self.context.credentials.refused(token, self.refresh)
            result = self._send(token, method, path, json, params)
        if result.status == 429:
            self.context.limits.pause("api", result.retry_after or DEFAULT_RETRY)
        return result

    def _send(self, token: str, method: str, path: str, json: Any, params: Mapping[str, Any] | None) -> HttpResult:
        if token not in self._known:  # never recorded, wherever it might echo
            self._known.add(token)
            self.http.add_secret(token)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **JWT}
        return self.http.request(method, path, json=json, params=dict(params or {}) or None, headers=headers)

    # -- OAuth (developer.bling.com.br/aplicativos; bling.md § 1) -------------------------------------------
    def token(self, form: dict[str, str]) -> Grant:
        """POST /oauth/token: the grant form-encoded, the app's credentials in Basic auth (not accepted in the
        body), `Accept: 1.0`. Raises GrantRefused when Bling refuses the code or refresh token."""
        result = self.http.request(
            "POST",
            "/oauth/token",
            content=urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "1.0",
                "Authorization": self._basic,
                **JWT,
            },
        )
        result.sent = {k: ("***" if k in ("code", "refresh_token") else v) for k, v in form.items()}
        answer = result.body if isinstance(result.body, dict) else {}
        if result.ok and answer.get("access_token"):
            for secret in (answer.get("access_token"), answer.get("refresh_token")):
                if secret:
                    self._known.add(str(secret))
                    self.http.add_secret(str(secret))
            expires_in = float(answer.get("expires_in") or 21600)  # 6 h in Bling's example
            extra = {k: answer[k] for k in ("scope", "token_type") if k in answer}
            return Grant(
                str(answer["access_token"]), answer.get("refresh_token"), now() + timedelta(seconds=expires_in), extra
            )
        outcome = failure(result, say("msg.op.bling_token"))
        if result.status in (400, 401, 403) and not outcome.transient:
            raise GrantRefused(outcome.message)
        raise CallFailed(outcome)

    def close(self) -> None:
        self.http.close()
