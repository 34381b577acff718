"""The one outbound HTTP client of Ponte: fixed timeouts, a user agent, a cap on response size,
and secrets redacted from whatever is recorded of a request."""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection, IncompleteRead
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson

from ponte import __version__

USER_AGENT = f"Ponte/{__version__} (+https://github.com/ponte-hub/ponte)"
REDACTED = "***"
SECRET_HEADERS = {"authorization", "x-api-key", "x-ponte-signature", "cookie"}
URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # reserved characters and %: a URL's structure and its escapes stay as given


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


class _Unreachable(Exception):
    """No connection could be opened (refused, unknown host, TLS handshake refused)."""


class HttpClient:
    """A keep-alive HTTP/1.1 client bound to one base URL, that never raises for transport trouble.

    Built on the standard library's http.client, with one keep-alive connection per thread. Not httpx: the
    worker's send threads share one core's worth of Python (the GIL), and a send cost ≈560 µs of it through
    httpx against ≈190 µs here, most of what bounded dispatch. What it does not do: follow redirects (never
    wanted), decompress (it asks for identity), or read proxy settings from the environment.
    """

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, body_limit: int = 16_384, secrets: Iterable[str] = ()
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.body_limit = body_limit
        self._secrets = [s for s in secrets if s]
        parts = urlsplit(self.base_url)
        self._origin = (parts.scheme, parts.hostname or "", parts.port)
        self._prefix = parts.path
        self._timeout, self._connect_timeout = timeout, min(timeout, 5.0)
        self._local = threading.local()
        self._opened: list[HTTPConnection] = []  # every thread's connection, for close()
        self._lock = threading.Lock()

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
        # Only what may not travel raw (spaces, non-ASCII) is escaped; the connectors quote their own segments.
        target = quote(self._prefix + path, safe=URL_SAFE) + (f"?{urlencode(params)}" if params else "")
        try:
            resp, raw = self._exchange(method, target, content, sent_headers)
        except TimeoutError:
            result.error = "timeout"
        except _Unreachable as exc:
            result.error = f"connection failed: {exc}"
        except (OSError, HTTPException) as exc:
            result.error = f"connection dropped: {str(exc) or type(exc).__name__}"
        except ValueError as exc:  # a header or URL http.client refuses to send
            result.error = f"HTTP error: {exc}"
        else:
            result.status = resp.status
            result.headers = {k.lower(): v for k, v in resp.getheaders() if k.lower() not in SECRET_HEADERS}
            result.body = self._decode(raw, resp.getheader("content-type", ""), result)
        result.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return result

    def _exchange(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[HTTPResponse, bytes]:
        """One request and its answer, read up to a little past the cap, on this thread's connection."""
        conn = self._connection()
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            # Read a little past the cap to know it was exceeded, never the whole of a huge body.
            cap = self.body_limit * 4 + 1
            raw = resp.read(cap)
            if len(raw) < cap and resp.length:  # http.client returns a body cut short as if it were whole
                raise IncompleteRead(raw, resp.length)
        except BaseException:
            conn.close()  # in an unknown state: the next request opens a new one
            raise
        if not resp.isclosed():
            conn.close()  # the rest of a too large body is left unread: the connection cannot be reused
        return resp, raw

    def _connection(self) -> HTTPConnection:
        """This thread's connection, opened when it has none or the server closed it while it was idle."""
        conn: HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            scheme, host, port = self._origin
            if scheme == "https":
                conn = HTTPSConnection(host, port, timeout=self._connect_timeout, context=_tls_context())
            else:
                conn = HTTPConnection(host, port, timeout=self._connect_timeout)
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        elif conn.sock is not None and _readable(conn.sock):
            conn.close()  # an idle connection that reads as ready was closed by the server: never send on it
        if conn.sock is None:
            self._connect(conn)
        return conn

    def _connect(self, conn: HTTPConnection) -> None:
        """Open the connection within the connect timeout; what follows has the (longer) request timeout."""
        try:
            conn.connect()
        except TimeoutError:
            raise
        except OSError as exc:
            raise _Unreachable(str(exc)) from exc
        conn.sock.settimeout(self._timeout)

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
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        self._local = threading.local()


def _readable(sock: socket.socket) -> bool:
    """Whether a socket has something to read, without waiting: on an idle keep-alive connection, its end."""
    if not hasattr(select, "poll"):
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


@cache
def _tls_context() -> ssl.SSLContext:
    """The system's trusted certificates, loaded once (loading them costs milliseconds)."""
    return ssl.create_default_context()
