"""Calls to Mercado Livre's API with the seller's token, and its answers read into Outcomes in its own words.

Every private call sends `Authorization: Bearer APP_USR-…` (mercadolivre.md § intro). A call first takes a token of
its operation's shared bucket (Mercado Livre limits per application — per Client ID — and publishes no numbers:
developers.mercadolivre.com.br/rate-limit-erro-429), then the seller's access token from the credential store; a
401 means the token died before its time, so it is renewed once (by whichever process gets there first) and the
call made again. A 429 pauses that operation for every worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import yaml

from ponte.clock import now
from ponte.connectors.base import CallFailed, Grant, GrantRefused, Outcome
from ponte.connectors.context import ConnectorContext
from ponte.connectors.failures import common_failure
from ponte.connectors.http import HttpClient, HttpResult, records
from ponte.domain import Disposition, Status
from ponte.domain.messages import Message

# A 429 without Retry-After (Mercado Livre documents none) pauses the operation this long: its guidance is
# exponential backoff with jitter; the engine's retry schedule does the backoff, this only stops the burst.
DEFAULT_PAUSE = 2.0
ANSWER_LIMIT = 2_000_000  # bytes of an answer read (category attributes and order searches run to hundreds of KB)


@cache
def error_table() -> tuple[dict[str, tuple[str, Disposition]], list[tuple[str, tuple[str, Disposition]]]]:
    """The connector's code table (errors.yaml): exact codes, and prefixes longest first."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("errors.yaml").read_text(encoding="utf-8"))
    exact = {code: (cat, Disposition(disp)) for code, (cat, disp) in raw["exact"].items()}
    prefix = sorted(
        ((code, (cat, Disposition(disp))) for code, (cat, disp) in raw["prefix"].items()), key=lambda p: -len(p[0])
    )
    return exact, prefix


def reading(code: str | None) -> tuple[str, Disposition] | None:
    """Ponte's category and disposition for one of Mercado Livre's codes, when the table knows it."""
    if not code:
        return None
    exact, prefixes = error_table()
    if code in exact:
        return exact[code]
    return next((found for start, found in prefixes if code.startswith(start)), None)


def _causes(body: Any, kind: str | None = None) -> list[dict[str, Any]]:
    causes = body.get("cause") if isinstance(body, dict) else None
    found = [c for c in causes if isinstance(c, dict)] if isinstance(causes, list) else []
    if kind == "warning":
        return [c for c in found if c.get("type") == "warning"]
    if kind == "error":
        return [c for c in found if c.get("type") != "warning"]
    return found


def error_outcome(result: HttpResult) -> Outcome:
    """A failed call in Mercado Livre's words: the error causes' messages and codes (mercadolivre.md § 3),
    read with the code table; transport trouble, 5xx and 429 are transient."""
    body = result.body if isinstance(result.body, dict) else {}
    errors = _causes(body, "error")
    if errors:
        message = "; ".join(str(c.get("message") or c.get("code")) for c in errors)
        code: str | None = str(errors[0].get("code") or body.get("error") or "")
    else:
        message = str(body.get("message") or result.body or f"HTTP {result.status}")
        detail = body.get("error")
        # {"message": "body.invalid_field_types", "error": "[invalid property type: …]"}: the detail is the error.
        if isinstance(detail, str) and detail and detail not in message and message.startswith("body."):
            message = f"{message}: {detail}"
        code = str(body.get("error") or body.get("message") or "") or None
    codes = [str(c.get("code")) for c in errors if c.get("code")] + [str(body.get("error") or "")]
    if " " not in str(body.get("message") or " "):  # a code in the message's place ("body.invalid_field_types")
        codes.append(str(body["message"]))
    found = next((r for r in map(reading, codes) if r is not None), None)
    common = common_failure(
        result, message, code, pause=DEFAULT_PAUSE, rate_limited=bool(found and found[0] == "rate_limited")
    )
    if common is not None:
        return common
    category, disposition = found if found else (None, None)
    return Outcome.error(message, code=code, category=category, disposition=disposition, **records(result))


def warnings_of(body: Any) -> list[dict[str, Any]]:
    """The remarks of an accepted change: an item's `warnings`, or causes of type warning (Mercado Livre answers
    updates of ME2 items with warnings: developers.mercadolibre.com.mx/es_mx/items-atributos-de-envio-y-dimensiones)."""
    if not isinstance(body, dict):
        return []
    listed = body.get("warnings")
    found = [w for w in listed if isinstance(w, dict)] if isinstance(listed, list) else []
    return found + _causes(body, "warning")


def success_outcome(result: HttpResult, message: str | Message, **extra: Any) -> Outcome:
    remarks = warnings_of(result.body)
    if remarks:
        text = "; ".join(str(w.get("message") or w.get("code")) for w in remarks)
        return Outcome(Status.WARNING, text, code=str(remarks[0].get("code") or ""), **records(result), **extra)
    return Outcome.ok(message, **records(result), **extra)


class MeliApi:
    """The API host (`api_url`) reached with the seller's credentials and the shared rate limits."""

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
        self.http = HttpClient(
            api_url,
            timeout=context.timeout,
            body_limit=max(context.body_limit, ANSWER_LIMIT // 4),
            secrets=[client_secret],
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
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResult:
        """One call as the seller. Raises Deferred (rate limit), CredentialsMissing or CredentialsRevoked."""
        self.context.limits.acquire(operation)
        token = self.context.credentials.access_token(self.refresh)
        result = self._send(token, method, path, json, params, content, headers)
        if result.status == 401:
            token = self.context.credentials.refused(token, self.refresh)
            result = self._send(token, method, path, json, params, content, headers)
        if result.status == 429:
            self.context.limits.pause(operation, result.retry_after or DEFAULT_PAUSE)
        return result

    def _send(
        self,
        token: str,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> HttpResult:
        if token not in self._known:  # never recorded, wherever it might echo
            self._known.add(token)
            self.http.add_secret(token)
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        result = self.http.request(
            method, path, json=json, params=dict(params or {}) or None, content=content, headers=sent
        )
        if content is not None and json is None:
            result.sent = content.decode("utf-8", "replace")[:4000]  # the XML of an invoice, for the attempt
        return result

    # -- OAuth (developers.mercadolivre.com.br/pt_br/autenticacao-e-autorizacao) ---------------------------
    def token(self, form: dict[str, str]) -> Grant:
        """POST /oauth/token with the parameters in the body, form-encoded (not in the query: [O])."""
        body = {"client_id": self.client_id, "client_secret": self.client_secret, **form}
        result = self.http.request(
            "POST",
            "/oauth/token",
            content=urlencode(body).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        result.sent = {
            k: ("***" if k in ("client_secret", "refresh_token", "code", "code_verifier") else v)
            for k, v in body.items()
        }
        answer = result.body if isinstance(result.body, dict) else {}
        if result.ok and answer.get("access_token"):
            for secret in (answer.get("access_token"), answer.get("refresh_token")):
                if secret:
                    self._known.add(str(secret))
                    self.http.add_secret(str(secret))
            expires_in = float(answer.get("expires_in") or 21600)  # 6 h [S]
            extra = {k: answer[k] for k in ("user_id", "scope", "token_type") if k in answer}
            return Grant(
                str(answer["access_token"]), answer.get("refresh_token"), now() + timedelta(seconds=expires_in), extra
            )
        outcome = error_outcome(result)
        if result.status in (400, 401, 403) and (outcome.category == "auth_invalid" or answer.get("error")):
            raise GrantRefused(outcome.message)
        raise CallFailed(outcome)

    def close(self) -> None:
        self.http.close()
