"""The outbound address policy: no address a store gives reaches inside the network, however it is spelled,
unless the installation's operator allowed that exact address and port.

The servers here listen on loopback on free ports that are NOT allowed, and count connections: a refusal means
nothing reached them. Private and link-local ranges are checked as addresses only: no test connects there.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pycurl
import pytest
from aiosmtpd.controller import Controller

from api_fixtures import World, client_fixture, world_fixture  # noqa: F401
from ponte.alerts.channels import DeliveryError, EmailSender, Message, WebhookSender
from ponte.connectors import outbound
from ponte.connectors.http import HttpClient
from ponte.domain import Disposition, Status
from ponte.runner import allowing
from ponte.sandbox import SandboxServer
from ponte.settings import SettingsError, load_settings
from sandbox_fixtures import allow_outbound, order_send, standalone

SECRET_PAGE = "root:x:0:0 internal admin console: instance-id i-0123456789"


class Inside(ThreadingHTTPServer):
    """An internal service: answers everything with a page nobody outside should read; counts connections."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, 0), InsideHandler)
        self.connections = 0
        self.redirect_to: str | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class InsideHandler(BaseHTTPRequestHandler):
    server: Inside

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_GET(self) -> None:
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        raw = (SECRET_PAGE * 200).encode()
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(server: Inside) -> Iterator[Inside]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def inside() -> Iterator[Inside]:
    yield from _serve(Inside())


@pytest.fixture
def inside_v6() -> Iterator[Inside]:
    try:
        server = Inside("::1")
    except OSError as exc:
        pytest.skip(f"this machine has no IPv6 loopback: {exc}")
    yield from _serve(server)


# -- the addresses ---------------------------------------------------------------------------------------

NOT_PUBLIC = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "::1": "loopback",
    "::ffff:127.0.0.1": "loopback",  # v4-mapped v6
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "64:ff9b::7f00:1": "loopback",  # NAT64 of 127.0.0.1
    "::7f00:1": "loopback",  # v4-compatible v6 (::/96, deprecated) of 127.0.0.1
    "::127.0.0.1": "loopback",  # the same, written the other way
    "::ffff:0:7f00:1": "loopback",  # v4-translated v6 (::ffff:0:0:0/96) of 127.0.0.1
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "169.254.169.254": "link-local",  # the cloud metadata service
    "fe80::1": "link-local",
    "::ffff:169.254.169.254": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "10.0.0.5": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "fd00::5": "private",
    "::ffff:10.1.2.3": "private",
    "::a00:5": "private",  # v4-compatible v6 of 10.0.0.5
    "fec0::1": "private",  # site-local (fec0::/10, deprecated, still routed inside some networks)
    "100.64.0.1": "reserved",  # carrier-grade NAT
    "198.18.0.1": "private",  # benchmarking
    "192.0.0.8": "reserved",  # IETF protocol assignments (192.0.0.0/24)
}


@pytest.mark.parametrize(("address", "kind"), NOT_PUBLIC.items())
def test_it_refuses_every_kind_of_address_inside(address: str, kind: str) -> None:
    assert outbound.kind_of(address) == kind
    assert outbound.refusal(address, 443) == kind


@pytest.mark.parametrize("address", ["200.147.67.142", "8.8.8.8", "2001:4860:4860::8888", "172.32.0.1"])
def test_it_lets_public_addresses_through(address: str) -> None:
    assert outbound.refusal(address, 443) is None


def test_an_allowance_is_for_that_exact_address_and_port() -> None:
    outbound.allow([("127.0.0.42", 6001)])
    assert outbound.refusal("127.0.0.42", 6001) is None
    assert outbound.refusal("::ffff:127.0.0.42", 6001) is None  # the same machine however it is written
    assert outbound.refusal("127.0.0.42", 6002) == "loopback"
    assert outbound.refusal("127.0.0.43", 6001) == "loopback"


def test_the_setting_takes_exact_address_port_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PONTE_OUTBOUND_ALLOW", "10.0.0.5:443, [fd00::5]:8080")
    assert load_settings().outbound_allow == (("10.0.0.5", 443), ("fd00::5", 8080))
    for wrong in ("localhost:8080", "10.0.0.5", "10.0.0.5:0", "10.0.0.0/8:443", "fd00::5:8080", "10.0.0.5:http"):
        monkeypatch.setenv("PONTE_OUTBOUND_ALLOW", wrong)
        with pytest.raises(SettingsError, match="PONTE_OUTBOUND_ALLOW"):
            load_settings()


def test_ponte_run_allows_its_own_sandbox_and_nothing_else_of_loopback(
    sandbox_server: SandboxServer, inside: Inside, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ponte run` reaches the sandbox it started through the operator's setting, naming the sandbox's address
    and port: not through a hole in the check, and not by allowing loopback as a whole."""
    monkeypatch.setattr(outbound, "_allowed", frozenset())  # as a fresh process: nothing allowed yet
    monkeypatch.delenv("PONTE_OUTBOUND_ALLOW", raising=False)
    operator = replace(load_settings(tmp_path), outbound_allow=(("10.0.0.5", 443),))
    port = int(urlsplit(sandbox_server.url).port or 0)

    settings = allowing(operator, sandbox_server.url)

    assert settings.outbound_allow == (("10.0.0.5", 443), ("127.0.0.1", port))
    assert outbound.allowed() == {("10.0.0.5", 443), ("127.0.0.1", port)}
    assert outbound.refusal("127.0.0.1", port) is None
    for address, other in [("127.0.0.1", port + 1), ("127.0.0.1", inside.port), ("127.0.0.2", port), ("::1", port)]:
        assert outbound.refusal(address, other) == "loopback", (address, other)
    reached, refused = _get(sandbox_server.url), _get(f"http://127.0.0.1:{inside.port}")
    assert not reached.refused and reached.status is not None
    assert refused.refused and inside.connections == 0


# -- over real connections ---------------------------------------------------------------------------------


def _get(url: str) -> Any:
    client = HttpClient(url, timeout=2)
    try:
        return client.request("GET", "/latest/meta-data/")
    finally:
        client.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "0x7f000001", "2130706433", "localhost", "0.0.0.0"])
def test_no_spelling_of_loopback_reaches_the_service(inside: Inside, host: str) -> None:
    result = _get(f"http://{host}:{inside.port}")
    assert result.refused and result.status is None and result.body is None
    assert result.error == outbound.refused_message(host)
    assert inside.connections == 0


def test_every_connector_reads_a_refused_address_as_a_setting_to_fix_not_a_retry(inside: Inside) -> None:
    """A store's Mirakl instance URL pointing inside: retrying cannot help, so no connector retries it."""
    from ponte.connectors.amazon.errors import failure as amazon
    from ponte.connectors.bling.errors import failure as bling
    from ponte.connectors.mercadolivre.api import error_outcome as mercadolivre
    from ponte.connectors.mirakl.errors import failure as mirakl
    from ponte.connectors.sandbox import outcome_from_result as sandbox

    result = _get(f"http://127.0.0.1:{inside.port}")
    assert result.refused
    read = {
        "amazon": amazon(result, "getListingsItem"), "bling": bling(result, "GET /produtos"),
        "mercadolivre": mercadolivre(result), "mirakl": mirakl(result, "OF24"), "sandbox": sandbox(result),
    }  # fmt: skip
    assert {name: (o.category, o.disposition, o.transient) for name, o in read.items()} == dict.fromkeys(
        read, ("integration_config", Disposition.FIX, False)
    )
    assert {o.message for o in read.values()} == {outbound.refused_message("127.0.0.1")}
    assert inside.connections == 0


@pytest.mark.parametrize("host", ["[::1]", "[::ffff:127.0.0.1]"])
def test_no_spelling_of_ipv6_loopback_reaches_the_service(inside_v6: Inside, inside: Inside, host: str) -> None:
    port = inside_v6.port if host == "[::1]" else inside.port
    result = _get(f"http://{host}:{port}")
    assert result.refused and result.error and "not a public Internet address" in result.error
    assert inside_v6.connections == inside.connections == 0


def test_closed_and_open_ports_inside_answer_alike(inside: Inside) -> None:
    """No port scan: a port that listens and one that does not give the same words."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    open_answer, closed_answer = _get(f"http://127.0.0.1:{inside.port}"), _get(f"http://127.0.0.1:{closed}")
    assert open_answer.error == closed_answer.error == outbound.refused_message("127.0.0.1")


def test_a_redirect_inside_is_refused_too(inside: Inside) -> None:
    """A connector that follows redirects is checked on every hop: the allowed first server sends it inside."""
    first = Inside()
    served = _serve(first)
    next(served)
    try:
        allow_outbound(f"http://127.0.0.1:{first.port}")
        first.redirect_to = f"http://127.0.0.1:{inside.port}/latest/meta-data/"

        class Following(HttpClient):
            def _ready(self, handle: pycurl.Curl) -> pycurl.Curl:
                super()._ready(handle)
                handle.setopt(pycurl.FOLLOWLOCATION, 1)
                return handle

        client = Following(f"http://127.0.0.1:{first.port}", timeout=2)
        result = client.request("GET", "/")
        client.close()
        assert first.connections == 1 and inside.connections == 0
        assert result.refused and SECRET_PAGE not in str(result.body)
    finally:
        next(served, None)


def test_only_http_and_https_are_spoken() -> None:
    result = _get("file:///etc")
    assert result.error is not None and result.status is None and not result.body


def test_an_allowed_endpoint_is_reached_and_its_error_page_kept_short(inside: Inside) -> None:
    allow_outbound(f"http://127.0.0.1:{inside.port}")
    hook = standalone("webhook", {"url": f"http://127.0.0.1:{inside.port}/hook"}, {"secret": "s"}, code="ERP")
    try:
        outcome = hook.send_order(order_send("1"))
    finally:
        hook.close()
    assert inside.connections == 1 and outcome.status == Status.ERROR
    assert len(outcome.message) <= 300 and len(str(outcome.response["body"])) <= 300


# -- every way a store gives an address ---------------------------------------------------------------------


def test_a_webhook_affiliate_pointed_inside_is_a_settings_error_and_sends_nothing(inside: Inside) -> None:
    hook = standalone("webhook", {"url": f"http://localhost:{inside.port}/hook"}, {"secret": "s"}, code="ERP")
    try:
        outcome = hook.test_connection()
    finally:
        hook.close()
    assert outcome.status == Status.ERROR and not outcome.transient
    assert (outcome.category, outcome.disposition) == ("integration_config", Disposition.FIX)
    assert outcome.message == outbound.refused_message("localhost") and inside.connections == 0


def test_a_marketplace_base_url_pointed_inside_sends_nothing(inside: Inside) -> None:
    market = standalone(
        "sandbox",
        {"base_url": f"http://2130706433:{inside.port}", "client_id": "x"},
        {"client_secret": "y"},
        code="MLB",
    )
    try:
        outcome = market.test_connection()
    finally:
        market.close()
    assert outcome.status == Status.ERROR and "not a public Internet address" in outcome.message
    assert inside.connections == 0


def test_an_alert_webhook_pointed_inside_is_not_called(inside: Inside) -> None:
    sender = WebhookSender({}, {"url": f"http://127.1:{inside.port}/services/x"})
    with pytest.raises(DeliveryError, match="not a public Internet address"):
        sender.send(Message("s", "b"))
    assert inside.connections == 0


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def test_an_smtp_channel_pointed_inside_is_not_called() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for host in ("127.0.0.1", "localhost", "2130706433"):
            sender = EmailSender({"host": host, "port": port, "to": ["ops@loja.com.br"]}, {})
            with pytest.raises(DeliveryError, match="not a public Internet address"):
                sender.send(Message("s", "b"))
        assert inbox.messages == []
        allow_outbound(f"smtp://127.0.0.1:{port}")  # the operator allows it: now it goes
        EmailSender({"host": "127.0.0.1", "port": port, "to": ["ops@loja.com.br"]}, {}).send(Message("s", "b"))
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_testar_on_a_webhook_pointed_inside_reads_nothing_back(client, world: World, inside: Inside) -> None:
    body = {
        "code": "ERP",
        "name": "ERP",
        "kind": "erp",
        "connector": "webhook",
        "settings": {"url": f"http://0x7f000001:{inside.port}/admin", "secret": "s3cr3t"},
    }
    created = client.post("/api/v1/affiliates", json=body, headers=world.auth("ada"))
    assert created.status_code == 201, created.text
    url = f"/api/v1/affiliates/{created.json()['id']}/test"
    answer = client.post(url, headers=world.auth("alice"))
    assert answer.status_code == 200 and answer.json()["ok"] is False
    assert "0x7f000001 não é um endereço público da Internet" in answer.json()["message"]  # the reader's language
    english = client.post(url, headers={**world.auth("alice"), "Accept-Language": "en"}).json()["message"]
    assert english == outbound.refused_message("0x7f000001")
    assert SECRET_PAGE not in answer.text and inside.connections == 0
