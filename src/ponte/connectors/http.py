"""The one outbound HTTP client of Ponte: fixed timeouts, a user agent, a cap on response size, secrets
redacted from whatever is recorded of a request, and only addresses the outbound policy allows (outbound.py)."""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
import pycurl

from ponte import __version__
from ponte.connectors import outbound

log = logging.getLogger("ponte.http")
USER_AGENT = f"Ponte/{__version__} (+https://github.com/ponte-hub/ponte)"
REDACTED = "***"
SECRET_HEADERS = {"authorization", "x-api-key", "x-ponte-signature", "cookie"}
# libcurl's errors in the words the engine records (and the knowledge base classifies): all transient.
_FAILED = {pycurl.E_COULDNT_CONNECT, pycurl.E_COULDNT_RESOLVE_HOST, pycurl.E_COULDNT_RESOLVE_PROXY}
_FAILED |= {pycurl.E_SSL_CONNECT_ERROR, pycurl.E_PEER_FAILED_VERIFICATION, pycurl.E_SSL_CERTPROBLEM}
_DROPPED = {pycurl.E_GOT_NOTHING, pycurl.E_RECV_ERROR, pycurl.E_SEND_ERROR, pycurl.E_PARTIAL_FILE, 8, pycurl.E_HTTP2}
# A path as given may hold what cannot travel raw (a space, a ç): those are %-encoded, reserved characters
# and %-escapes already made are kept. A '%' that starts no escape is itself escaped.
_URL_SAFE = "/:@!$&'()*+,;=?%~"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110's token
# The machine's trusted certificates (SSL_CERT_FILE and SSL_CERT_DIR count), not libcurl's build-time path.
_TRUSTED = ssl.get_default_verify_paths()


@dataclass
class HttpResult:
    """An HTTP exchange as the engine records it. `error` is set when no usable answer came back."""

    method: str
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON, or text when not JSON; capped at the body limit
    error: str | None = None  # timeout, connection refused, dropped, malformed JSON, too large
    refused: bool = False  # the address is not one Ponte may call (outbound.py): a setting to fix, not a retry
    refused_host: str | None = None  # …the host as the store gave it (the error's words name it)
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


def records(result: HttpResult) -> dict[str, Any]:
    """What an Outcome keeps of a call: the request, the response and the HTTP status."""
    return {"request": result.record_request(), "response": result.record_response(), "http_status": result.status}


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
    """Keep-alive connections to one base URL, shared by threads, that never raise for transport trouble.

    On libcurl (pycurl), as Healthchecks' outbound client is: the worker's send threads share one core's
    worth of Python (the GIL), and libcurl sends, waits and parses the answer's headers without holding it.
    A send costs about 90 µs of Python against about 300 µs through urllib3 (which parses headers with the
    email package), and that was most of what bounded dispatch. Each thread asking at once gets a handle of
    its own, and a handle keeps its connection open. No retries and no redirects (the engine decides what to
    retry), but for libcurl's own: a kept-alive connection that turns out closed before a byte of the answer
    came is opened again and the request sent again, as a browser does (the server had closed it idle). No
    proxy from the environment; certificates are checked against the machine's trusted ones.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        body_limit: int = 16_384,
        secrets: Iterable[str] = (),
        error_body_limit: int | None = None,
    ) -> None:
        """`error_body_limit` keeps no more than that many characters of an answer that is not a success: for an
        address a store gave, whose error pages are nobody's marketplace words (a webhook, an alert channel)."""
        self.base_url = base_url.rstrip("/")
        self.body_limit = body_limit
        self.error_body_limit = error_body_limit
        self._secrets = [s for s in secrets if s]
        self._timeout_ms, self._connect_ms = int(timeout * 1000), int(min(timeout, 5.0) * 1000)
        self._idle: list[pycurl.Curl] = []  # handles no thread is using, each keeping its connection
        self._lock = threading.Lock()
        self._closed = False

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
        sink: Callable[[bytes], None] | None = None,
    ) -> HttpResult:
        """One exchange. `sink`: a success's body goes to it chunk by chunk as it arrives, uncapped and unkept (a
        whole shop's file read while it downloads); `result.body` is then None. Other answers are kept as usual."""
        result = HttpResult(method=method, url=self.redact(f"{self.base_url}{path}"), sent=self._redact_any(json))
        started = time.perf_counter()
        sent_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if json is not None:
            content = orjson.dumps(json)
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        url = _encode(self.base_url + path) + (f"?{urlencode(params, doseq=True)}" if params else "")
        try:
            result.status, answer_headers, raw = self._exchange(method, url, content, sent_headers, sink)
        except TransportError as exc:
            result.error, result.refused, result.refused_host = str(exc), exc.refused, exc.host
        else:
            result.headers = {k: v for k, v in answer_headers.items() if k not in SECRET_HEADERS}
            streamed = sink is not None and result.status is not None and 200 <= result.status < 300
            result.body = None if streamed else self._decode(raw, answer_headers.get("content-type", ""), result)
            if self.error_body_limit is not None and not result.ok:
                result.body = _short(result.body, self.error_body_limit)
        result.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return result

    def _exchange(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str],
        sink: Callable[[bytes], None] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        """One request and its answer, read up to a little past the cap, never the whole of a huge body."""
        lines = _header_lines(headers)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""  # sent with Content-Length: 0, as a body-carrying method should be
        if body is not None and "content-type" not in {name.lower() for name in headers}:
            lines.append(b"Content-Type:")  # libcurl would otherwise call any body a form
        cap = self.body_limit * 4 + 1
        raw = bytearray()
        answer: dict[str, str] = {}
        reading = False  # between an answer's status line and the blank line that ends its headers
        success = False  # the last status line said 2xx: its body goes to the sink, if there is one
        broken: list[Exception] = []  # what the sink raised

        def take_body(chunk: bytes) -> int | None:
            if sink is not None and success:
                try:
                    sink(chunk)
                except Exception as exc:  # libcurl cannot carry it: kept, the transfer stopped, raised below
                    broken.append(exc)
                    return 0
                return None
            raw.extend(chunk)
            return 0 if len(raw) >= cap else None  # 0 stops the transfer: the rest is left unread

        def take_header(line: bytes) -> None:
            nonlocal reading, success
            if line.startswith(b"HTTP/"):  # a status line, never a header, whatever its reason phrase holds
                answer.clear()  # a new answer (after a 100 Continue): only the last one's headers count
                reading = True
                status = line.split(None, 2)[1:2]
                success = bool(status) and status[0].startswith(b"2")
            elif not line.strip():
                reading = False  # what comes after the last answer's headers are a chunked body's trailers
            elif reading:
                name, colon, value = line.decode("latin-1").partition(":")
                if colon:
                    answer[name.strip().lower()] = value.strip()

        refused: list[str] = []

        def open_socket(_purpose: int, address: Any) -> socket.socket | int:
            """libcurl's socket for each address it is about to connect to, after DNS and on every redirect."""
            try:
                host, port = str(address.addr[0]), int(address.addr[1])
                why = outbound.refusal(host, port)
            except Exception:  # never let an address through because checking it failed
                log.exception("checking an outbound address of %s failed", _host_of(url))
                host, why = "?", "unreadable"
            if why is None:
                return socket.socket(address.family, address.socktype, address.protocol)
            log.warning("outbound call to %s refused: %s is a %s address", _host_of(url), host, why)
            refused.append(host)
            return pycurl.SOCKET_BAD  # libcurl tries the host's next address, or fails "couldn't connect"

        handle = self._take()
        try:
            handle.setopt(pycurl.URL, url)
            handle.setopt(pycurl.OPENSOCKETFUNCTION, open_socket)
            handle.setopt(pycurl.HTTPHEADER, [*lines, b"Expect:"])  # no 100-continue round trip
            if body is not None:
                handle.setopt(pycurl.POSTFIELDSIZE, len(body))
                handle.setopt(pycurl.COPYPOSTFIELDS, body)
            if method != ("POST" if body is not None else "GET"):
                handle.setopt(pycurl.CUSTOMREQUEST, method)
            if method == "HEAD":
                handle.setopt(pycurl.NOBODY, 1)  # or libcurl would wait for a body that never comes
            handle.setopt(pycurl.WRITEFUNCTION, take_body)
            handle.setopt(pycurl.HEADERFUNCTION, take_header)
            try:
                handle.perform()
            except pycurl.error as exc:
                if broken:
                    raise broken[0] from None
                if refused and exc.args[0] == pycurl.E_COULDNT_CONNECT:
                    host = _host_of(url)
                    raise TransportError(outbound.refused_message(host), refused=True, host=host) from None
                if len(raw) < cap:
                    raise TransportError(_describe(exc)) from None
            return handle.getinfo(pycurl.RESPONSE_CODE), answer, bytes(raw)
        finally:
            self._give_back(handle)

    def _take(self) -> pycurl.Curl:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._ready(pycurl.Curl())

    def _give_back(self, handle: pycurl.Curl) -> None:
        handle.reset()  # forgets this request's options, keeps the connection open
        with self._lock:
            if not self._closed:
                self._idle.append(self._ready(handle))
                return
        handle.close()  # the client was closed while this request was under way

    def _ready(self, handle: pycurl.Curl) -> pycurl.Curl:
        handle.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals: sends run in threads
        handle.setopt(pycurl.TIMEOUT_MS, self._timeout_ms)  # the whole exchange, not each read
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, self._connect_ms)
        handle.setopt(pycurl.PROXY, "")  # never a proxy from the environment
        # HTTP(S) only, here and in any redirect a connector follows: never file://, gopher://, dict://...
        handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        handle.setopt(pycurl.REDIR_PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        # Asks for the answer as it is, and decodes it all the same where a server compresses it anyway.
        handle.setopt(pycurl.ACCEPT_ENCODING, "identity")
        if _TRUSTED.cafile:
            handle.setopt(pycurl.CAINFO, _TRUSTED.cafile)
        elif _TRUSTED.capath:
            handle.setopt(pycurl.CAPATH, _TRUSTED.capath)
        return handle

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
            idle, self._idle, self._closed = self._idle, [], True
        for handle in idle:
            handle.close()


class TransportError(Exception):
    """No usable answer came back; the text is what the attempt records. `refused`: the outbound policy refused
    every address of the host, and nothing was sent."""

    def __init__(self, text: str, *, refused: bool = False, host: str | None = None) -> None:
        super().__init__(text)
        self.refused = refused
        self.host = host


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _short(body: Any, limit: int) -> Any:
    """An error answer kept as a few words on one line: never a whole page of whatever answered."""
    if body is None:
        return None
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    if not isinstance(body, str) and len(text) <= limit:
        return body  # a short JSON answer stays JSON: its message is read as the receiver wrote it
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_problem(name: str, value: str) -> str | None:
    """Why a header could not travel, or None: its name is not an HTTP token (RFC 9110), or its value holds a
    line break (a header smuggled in), a NUL or a character past Latin-1. Connectors' settings ask it too."""
    if not _HEADER_NAME.fullmatch(name):
        return "is not an HTTP header name (letters, digits and -, no spaces)"
    if "\r" in value or "\n" in value:
        return "holds a line break"
    if "\x00" in value or any(ord(c) > 255 for c in value):
        return "holds a character HTTP cannot carry"
    return None


def _header_lines(headers: dict[str, str]) -> list[bytes]:
    """Headers as libcurl takes them; one that could not travel is an error of this request, never sent. An
    empty value is sent empty: to libcurl, `Name:` with nothing after it means "leave out this header",
    `Name;` means "send it empty"."""
    lines = []
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem:
            raise TransportError(f"HTTP error: the header {name!r} {problem}")
        lines.append((f"{name}: {value}" if value else f"{name};").encode("latin-1"))
    return lines


def _encode(url: str) -> str:
    """The path and query made fit to travel; the scheme and host are left as they are ([::1], bücher.de)."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}{slash}{quote(_LONE_PERCENT.sub('%25', path), safe=_URL_SAFE)}"


def _describe(exc: pycurl.error) -> str:
    code, text = exc.args[0], exc.args[1] if len(exc.args) > 1 else ""
    if code == pycurl.E_OPERATION_TIMEDOUT:
        return "timeout"
    if code in _FAILED:
        return f"connection failed: {text}"
    if code in _DROPPED:
        return f"connection dropped: {text}"
    return f"HTTP error: {text}"
