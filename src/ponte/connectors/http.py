"""The one outbound HTTP client of Ponte: fixed timeouts, a user agent, a cap on response size,
and secrets redacted from whatever is recorded of a request."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError, SSLError, TimeoutError

from ponte import __version__

USER_AGENT = f"Ponte/{__version__} (+https://github.com/ponte-hub/ponte)"
REDACTED = "***"
SECRET_HEADERS = {"authorization", "x-api-key", "x-ponte-signature", "cookie"}


@dataclass
class HttpResult:
    """An HTTP exchange as the engine records it. `error` is set when no usable answer came back."""

    method: str
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON, or text when not JSON; capped at the body limit
    error: str | None = None  # timeout, connection refused, dropped, malformed JSON, too large
    elapsed_ms: int = 0
    sent: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))

    def record_request(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "body": self.sent}

    def record_response(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "error": self.error}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """A keep-alive connection pool bound to one base URL, that never raises for transport trouble.

    On urllib3, not httpx: the worker's send threads share one core's worth of Python (the GIL), and a send
    cost about 400 µs of it through httpx against about 180 µs through urllib3, which was most of what
    bounded dispatch. No retries and no redirects (the engine decides what to retry); no proxy from the
    environment; certificates are checked against the system's trusted ones.
    """

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, body_limit: int = 16_384, secrets: Iterable[str] = ()
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.body_limit = body_limit
        self._secrets = [s for s in secrets if s]
        self._prefix = urlsplit(self.base_url).path
        # One pool per client; the worker gives each send thread its own client, others share one.
        self._pool = urllib3.connection_from_url(
            self.base_url,
            maxsize=8,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            retries=False,
        )

    def add_secret(self, secret: str) -> None:
        if secret:
            self._secrets.append(secret)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> HttpResult:
        result = HttpResult(method=method, url=self.redact(f"{self.base_url}{path}"), sent=self._redact_any(json))
        started = time.perf_counter()
        sent_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if json is not None:
            content = orjson.dumps(json)
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        try:
            status, answer_headers, raw = self._exchange(method, target, content, sent_headers)
        except NewConnectionError as exc:  # before the timeouts: urllib3 makes it a kind of connect timeout
            result.error = f"connection failed: {exc.__cause__ or exc}"
        except TimeoutError:
            result.error = "timeout"
        except SSLError as exc:
            result.error = f"connection failed: {exc}"
        except ProtocolError as exc:
            result.error = f"connection dropped: {exc}"
        except (HTTPError, ValueError) as exc:  # a header or URL that cannot be sent, among others
            result.error = f"HTTP error: {exc}"
        else:
            result.status = status
            result.headers = {k.lower(): v for k, v in answer_headers.items() if k.lower() not in SECRET_HEADERS}
            result.body = self._decode(raw, answer_headers.get("content-type", ""), result)
        result.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return result

    def _exchange(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, Any, bytes]:
        """One request and its answer, read up to a little past the cap, never the whole of a huge body."""
        resp = self._pool.urlopen(method, target, body=body, headers=headers, redirect=False, preload_content=False)
        cap = self.body_limit * 4 + 1
        raw = b""
        try:
            raw = resp.read(cap)  # shorter than asked only at the body's end
        finally:
            if len(raw) == cap:
                resp.close()  # the rest of a too large body is left unread: the connection cannot be reused
            resp.release_conn()
        return resp.status, resp.headers, raw

    def _decode(self, raw: bytes, content_type: str, result: HttpResult) -> Any:
        if len(raw) > self.body_limit * 4:
            result.error = f"response too large (over {self.body_limit * 4} bytes)"
            return self.redact(raw[: self.body_limit].decode("utf-8", "replace"))
        if "json" in content_type:
            try:
                return self._redact_any(orjson.loads(raw)) if raw else None
            except orjson.JSONDecodeError:
                result.error = "malformed JSON in response"
        return self.redact(raw.decode("utf-8", "replace"))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _redact_any(self, value: Any) -> Any:
        if not self._secrets or value is None:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self._redact_any(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_any(v) for v in value]
        return value

    def close(self) -> None:
        self._pool.close()
