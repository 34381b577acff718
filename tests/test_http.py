"""The outbound HTTP client (connectors/http.py) on its own: keep-alive connections shared by threads, reopened
when the server closed them while idle; what it sends on the wire."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ponte.connectors.http import HttpClient


class Echo(ThreadingHTTPServer):
    """Answers every request with its path; counts connections; may close each one after one answer."""

    daemon_threads = True
    close_after_answer = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.connections = 0
        self.closed = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

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
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        # Closing without a "Connection: close": what a server does when its keep-alive timeout ends.
        self.close_connection = self.server.close_after_answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_requests_reuse_one_connection(echo: Echo) -> None:
    client = HttpClient(echo.url)
    try:
        assert [client.request("GET", f"/n/{n}").body for n in range(3)] == [{"path": f"/n/{n}"} for n in range(3)]
    finally:
        client.close()
    assert echo.connections == 1


def test_a_connection_the_server_closed_while_idle_is_reopened_not_reported_dropped(echo: Echo) -> None:
    echo.close_after_answer = True
    client = HttpClient(echo.url)
    try:
        assert client.request("GET", "/first").ok
        assert echo.closed.wait(5)
        second = client.request("GET", "/second")
    finally:
        client.close()
    assert (second.ok, second.error, second.body) == (True, None, {"path": "/second"})
    assert echo.connections == 2


def test_threads_share_the_pool_without_mixing_answers(echo: Echo) -> None:
    client = HttpClient(echo.url)
    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda n: client.request("GET", f"/n/{n}").body, range(40)))
    finally:
        client.close()
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
