"""The one outbound HTTP client of Ponte: fixed timeouts, a user agent, a cap on response size,
and secrets redacted from whatever is recorded of a request."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

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
    """A pooled httpx client bound to one base URL, that never raises for transport trouble."""

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, body_limit: int = 16_384, secrets: Iterable[str] = ()
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.body_limit = body_limit
        self._secrets = [s for s in secrets if s]
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
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
        if json is not None:
            content = orjson.dumps(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            with self._client.stream(method, path, content=content, headers=headers, params=params) as resp:
                result.status = resp.status_code
                result.headers = {k.lower(): v for k, v in resp.headers.items() if k.lower() not in SECRET_HEADERS}
                raw = self._read_capped(resp)
        except httpx.TimeoutException:
            result.error = "timeout"
        except httpx.ConnectError as exc:
            result.error = f"connection failed: {exc}"
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            result.error = f"connection dropped: {exc}"
        except httpx.HTTPError as exc:
            result.error = f"HTTP error: {exc}"
        else:
            result.body = self._decode(raw, resp.headers.get("content-type", ""), result)
        result.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return result

    def _read_capped(self, resp: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        # Read a little past the cap to know it was exceeded, never the whole of a huge body.
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.body_limit * 4:
                break
        return b"".join(chunks)

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
        self._client.close()
