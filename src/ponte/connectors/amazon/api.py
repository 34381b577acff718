"""Calls to the Selling Partner API as the seller, and Login with Amazon's token endpoint.

Every call sends the LWA access token in `x-amz-access-token` (amazon-sp-api.md § 1; no SigV4 since 2023-10-02).
A call first takes a token of its operation's shared bucket (each operation has its own usage plan), then the
seller's access token from the credential store; a 401/403 with an expired token means the token died before its
time, so it is renewed once and the call made again. A 429 pauses that operation for every worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from ponte.clock import now
from ponte.connectors.amazon.errors import envelope, failure, pause_for
from ponte.connectors.base import CallFailed, Grant, GrantRefused
from ponte.connectors.context import ConnectorContext
from ponte.connectors.http import HttpClient, HttpResult
from ponte.domain.messages import say

ANSWER_LIMIT = 4_000_000  # bytes of an answer read: a page of 100 orders with their items runs to ~1 MB
TOKEN_LIFE = 3600.0  # seconds; LWA access tokens last an hour (`expires_in`, amazon-sp-api.md § 1)
REFUSED_GRANT = {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied", "invalid_scope"}


class AmazonApi:
    """The SP-API endpoint (`api_url`) with the seller's credentials and the shared rate limits."""

    def __init__(
        self,
        api_url: str,
        token_url: str,
        *,
        client_id: str,
        client_secret: str,
        context: ConnectorContext,
        refresh: Callable[[Grant], Grant],
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.context, self.refresh = context, refresh
        limit = max(context.body_limit, ANSWER_LIMIT // 8)
        self.http = HttpClient(api_url, timeout=context.timeout, body_limit=limit, secrets=[client_secret])
        parts = urlsplit(token_url)
        self.token_path = parts.path or "/auth/o2/token"
        self.lwa = HttpClient(
            f"{parts.scheme}://{parts.netloc}", timeout=context.timeout, body_limit=16_384, secrets=[client_secret]
        )
        self._known: set[str] = set()

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        limited: bool = True,
    ) -> HttpResult:
        """One call as the seller (`limited=False` when the engine already took the operation's token).
        Raises Deferred (rate limit), CredentialsMissing or CredentialsRevoked."""
        if limited:
            self.context.limits.acquire(operation)
        token = self.context.credentials.access_token(self.refresh)
        result = self._send(token, method, path, json, params)
        if result.status in (401, 403) and _expired(result):
            token = self.context.credentials.refused(token, self.refresh)
            result = self._send(token, method, path, json, params)
        if result.status == 429:
            self.context.limits.pause(operation, pause_for(result))
        return result

    def _send(self, token: str, method: str, path: str, json: Any, params: Mapping[str, Any] | None) -> HttpResult:
        if token not in self._known:  # never recorded, wherever it might echo
            self._known.add(token)
            self.http.add_secret(token)
        query = {k: ",".join(v) if isinstance(v, list | tuple) else v for k, v in (params or {}).items()}
        return self.http.request(method, path, json=json, params=query or None, headers={"x-amz-access-token": token})

    # -- Login with Amazon (amazon-sp-api.md § 1) -------------------------------------------------------------
    def token(self, form: dict[str, str]) -> Grant:
        """`POST /auth/o2/token`, form-encoded: an authorization code or a refresh token for an access token.
        LWA refresh tokens are long-lived and not rotated: an answer without one keeps the one it was given."""
        body = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        result = self.lwa.request(
            "POST",
            self.token_path,
            content=urlencode(body).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
        )
        result.sent = {k: ("***" if k in ("client_secret", "refresh_token", "code") else v) for k, v in body.items()}
        answer = result.body if isinstance(result.body, dict) else {}
        if result.ok and answer.get("access_token"):
            for secret in (answer.get("access_token"), answer.get("refresh_token")):
                if secret:
                    self._known.add(str(secret))
                    self.http.add_secret(str(secret))
                    self.lwa.add_secret(str(secret))
            expires = now() + timedelta(seconds=float(answer.get("expires_in") or TOKEN_LIFE))
            refresh = answer.get("refresh_token") or form.get("refresh_token")
            return Grant(str(answer["access_token"]), refresh, expires, {"token_type": answer.get("token_type")})
        outcome = failure(result, say("msg.op.amazon_token"))
        if result.status in (400, 401) and any(e.get("code") in REFUSED_GRANT for e in envelope(result.body)):
            raise GrantRefused(outcome.message)
        raise CallFailed(outcome)

    def close(self) -> None:
        self.http.close()
        self.lwa.close()


def _expired(result: HttpResult) -> bool:
    """An answer that refuses the access token itself (rather than the seller's permissions)."""
    codes = {str(e.get("code")) for e in envelope(result.body)}
    return result.status == 401 or bool(codes & {"Unauthorized", "InvalidAccessToken", "MissingAuthenticationToken"})
