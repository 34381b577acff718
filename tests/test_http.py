"""The outbound HTTP client (connectors/http.py) on its own: keep-alive connections shared by threads, reopened
when the server closed them while idle; what it sends on the wire, and what it refuses to send."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ponte.connectors.http import HttpClient
from sandbox_fixtures import allow_outbound


class Echo(ThreadingHTTPServer):
    """Answers every request with its path; counts connections; may close each one after one answer."""

    daemon_threads = True
    close_after_answer = False
    host = "127.0.0.1"

    def __init__(self) -> None:
        super().__init__((self.host, 0), EchoHandler)
        self.connections = 0
        self.closed = threading.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.server_address[1]}"

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed.set()


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    server: Echo

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_GET(self) -> None:
        raw = json.dumps({"path": self.path}).encode()
        if self.path == "/odd":
            return self._odd(raw)
        if self.path == "/file":
            return self._file()
        if self.path == "/gone":
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/gzip":  # compressed although the client asked for the answer as it is
            raw = gzip.compress(raw)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        # Closing without a "Connection: close": what a server does when its keep-alive timeout ends.
        self.close_connection = self.server.close_after_answer

    def do_PUT(self) -> None:
        """Answers with what arrived: the method, the headers and the body."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = {"method": self.command, "headers": {k.lower(): v for k, v in self.headers.items()}}
        raw = json.dumps({**seen, "body": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_POST = do_DELETE = do_PUT

    def _odd(self, raw: bytes) -> None:
        """Lawful but unusual: a colon in the reason phrase, a chunked body, and a trailer after it."""
        self.send_response(200, "OK: fine")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Trailer", "Content-Type")
        self.end_headers()
        self.wfile.write(b"%x\r\n%s\r\n0\r\nContent-Type: text/plain\r\n\r\n" % (len(raw), raw))

    def _file(self) -> None:
        """A big file, written a line at a time as a server making an export does (chunked)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in FILE_LINES:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


FILE_LINES = [b"sku;quantity\n", *(b"SKU-%05d;%d\n" % (n, n % 7) for n in range(20_000))]


class EchoOnIPv6(Echo):
    address_family = socket.AF_INET6
    host = "::1"


@pytest.fixture
def echo() -> Iterator[Echo]:
    yield from _serving(Echo())


@pytest.fixture
def echo_ipv6() -> Iterator[Echo]:
    try:
        server = EchoOnIPv6()
    except OSError as exc:
        pytest.skip(f"this machine has no IPv6 loopback: {exc}")
    yield from _serving(server)


@pytest.fixture
def client(echo: Echo) -> Iterator[HttpClient]:
    """A client of the echo server, closed after the test."""
    client = HttpClient(echo.url)
    yield client
    client.close()


def _serving(server: Echo) -> Iterator[Echo]:
    allow_outbound(server.url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_requests_reuse_one_connection(echo: Echo, client: HttpClient) -> None:
    assert [client.request("GET", f"/n/{n}").body for n in range(3)] == [{"path": f"/n/{n}"} for n in range(3)]
    assert echo.connections == 1


def test_a_connection_the_server_closed_while_idle_is_reopened_not_reported_dropped(
    echo: Echo, client: HttpClient
) -> None:
    echo.close_after_answer = True
    assert client.request("GET", "/first").ok
    assert echo.closed.wait(5)
    second = client.request("GET", "/second")
    assert (second.ok, second.error, second.body) == (True, None, {"path": "/second"})
    assert echo.connections == 2


def test_threads_share_the_pool_without_mixing_answers(echo: Echo, client: HttpClient) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: client.request("GET", f"/n/{n}").body, range(40)))
    assert answers == [{"path": f"/n/{n}"} for n in range(40)]  # no answer read by the wrong thread
    assert echo.connections <= 4  # never more connections than threads asking at once


def test_the_base_path_query_and_characters_that_cannot_travel_raw(echo: Echo) -> None:
    client = HttpClient(f"{echo.url}/api/")
    try:
        answer = client.request("GET", "/items/CAMISA AZUL-ção%2F1", params={"since": "a b", "limit": 2})
    finally:
        client.close()
    assert answer.body == {"path": "/api/items/CAMISA%20AZUL-%C3%A7%C3%A3o%2F1?since=a+b&limit=2"}
    assert answer.url == f"{echo.url}/api/items/CAMISA AZUL-ção%2F1"  # as recorded: the path as given


def test_it_sends_the_method_the_headers_and_the_json_body(client: HttpClient) -> None:
    answer = client.request("PUT", "/items/1", json={"sku": "CEL-001", "price": 10.5}, headers={"X-Seller": "7"})
    seen = answer.body
    assert (seen["method"], json.loads(seen["body"])) == ("PUT", {"sku": "CEL-001", "price": 10.5})
    assert seen["headers"]["content-type"] == "application/json" and seen["headers"]["x-seller"] == "7"
    assert seen["headers"]["user-agent"].startswith("Ponte/") and "expect" not in seen["headers"]


def test_a_body_without_a_content_type_is_not_called_a_form_and_an_empty_put_says_so(client: HttpClient) -> None:
    raw = client.request("POST", "/hook", content=b"a=1&b=2").body
    empty = client.request("PUT", "/items/1").body
    deleted = client.request("DELETE", "/items/1").body
    assert raw["body"] == "a=1&b=2" and "content-type" not in raw["headers"]
    assert (empty["method"], empty["headers"]["content-length"], empty["body"]) == ("PUT", "0", "")
    assert deleted["method"] == "DELETE"


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"X-Note": "ok\r\nX-Injected: 1"}, "line break"),
        ({"X-Note": "preço 🙂"}, "cannot carry"),
        ({"X-Note": "a\x00b"}, "cannot carry"),
    ],
)
def test_a_header_that_cannot_travel_is_an_error_and_nothing_is_sent(
    echo: Echo, client: HttpClient, headers: dict[str, str], words: str
) -> None:
    answer = client.request("PUT", "/items/1", json={}, headers=headers)
    assert answer.status is None and answer.error is not None and words in answer.error
    assert echo.connections == 0


def test_an_empty_header_is_sent_empty_not_left_out(client: HttpClient) -> None:
    seen = client.request("PUT", "/items/1", json={}, headers={"X-Empty": "", "Accept": ""}).body
    assert seen["headers"]["x-empty"] == "" and seen["headers"]["accept"] == ""


def test_an_answer_compressed_anyway_is_read_decoded(client: HttpClient) -> None:
    answer = client.request("GET", "/gzip")
    assert (answer.error, answer.body) == (None, {"path": "/gzip"})


def test_a_reason_phrase_with_a_colon_and_a_trailer_are_not_read_as_headers(client: HttpClient) -> None:
    answer = client.request("GET", "/odd")
    assert (answer.status, answer.error, answer.body) == (200, None, {"path": "/odd"})
    assert answer.headers["content-type"] == "application/json"  # the trailer's text/plain is left out
    assert not [name for name in answer.headers if name.startswith("http/")]


def test_a_marketplace_on_an_ipv6_address(echo_ipv6: Echo) -> None:
    client = HttpClient(f"{echo_ipv6.url}/api")
    try:
        answer = client.request("GET", "/items/a b")
    finally:
        client.close()
    assert (answer.error, answer.body) == (None, {"path": "/api/items/a%20b"})


def test_a_proxy_from_the_environment_is_not_used(client: HttpClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there: a proxy used would fail
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    answer = client.request("GET", "/direct")
    assert (answer.error, answer.body) == (None, {"path": "/direct"})


def test_a_refused_connection_is_an_error_not_an_exception() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    allow_outbound(f"http://127.0.0.1:{port}")  # allowed, so that the connection is tried (and fails)
    client = HttpClient(f"http://127.0.0.1:{port}", timeout=2)
    try:
        answer = client.request("GET", "/")
    finally:
        client.close()
    assert answer.status is None and answer.error is not None and answer.error.startswith("connection failed: ")


def test_a_file_goes_to_the_sink_as_it_arrives_whole_and_unkept(echo: Echo) -> None:
    """A whole shop's export read while it downloads: every byte reaches the sink, in many chunks, past the body
    cap that holds kept answers; nothing of it is kept in the result."""
    client = HttpClient(echo.url, body_limit=1_024)
    chunks: list[bytes] = []
    try:
        result = client.request("GET", "/file", sink=chunks.append)
        kept = client.request("GET", "/file")
    finally:
        client.close()
    assert result.ok and result.body is None and result.error is None
    assert b"".join(chunks) == b"".join(FILE_LINES) and len(chunks) > 1
    assert kept.error is not None and "too large" in kept.error  # the same file, kept, is capped


def test_an_error_answer_is_kept_not_streamed(client: HttpClient) -> None:
    chunks: list[bytes] = []
    result = client.request("GET", "/gone", sink=chunks.append)
    assert result.status == 404 and result.body == {"path": "/gone"} and chunks == []


def test_what_the_sink_raises_reaches_the_caller_and_stops_the_transfer(client: HttpClient) -> None:
    seen: list[bytes] = []

    def sink(chunk: bytes) -> None:
        seen.append(chunk)
        raise ValueError("the file's header lacks a column")

    with pytest.raises(ValueError, match="lacks a column"):
        client.request("GET", "/file", sink=sink)
    assert len(seen) == 1
    assert client.request("GET", "/after").body == {"path": "/after"}  # the client goes on working
