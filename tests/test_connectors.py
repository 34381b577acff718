"""The built-in connectors, driven against real HTTP servers: the sandbox marketplace and a small ERP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ponte.connectors.base import Connector, Outcome
from ponte.connectors.registry import (
    InvalidConnectorSettings,
    UnknownConnector,
    available_connectors,
    get_connector_class,
    secret_fields,
)
from ponte.connectors.sandbox import SandboxConnector
from ponte.connectors.webhook import WebhookConnector, verify
from ponte.domain import Disposition, Status
from ponte.sandbox import SandboxServer
from sandbox_fixtures import (
    SELLER,
    admin_get,
    allow_outbound,
    nfe_key,
    order_send,
    price_send,
    product_send,
    standalone,
    stock_send,
    tracking_send,
)

MakeConnector = Callable[..., Connector]


def requests_to(sandbox: SandboxServer, profile: str, endpoint: str) -> int:
    return sum(sandbox.stats()["by_profile"].get(profile, {}).get(endpoint, {}).values())


# -- registry -----------------------------------------------------------------------------------------


def test_the_built_in_connectors_come_from_entry_points() -> None:
    connectors = available_connectors()
    assert connectors["sandbox"] is SandboxConnector
    assert connectors["webhook"] is WebhookConnector


def test_an_unknown_kind_names_the_installed_ones() -> None:
    with pytest.raises(UnknownConnector, match=r"available: .*sandbox.*webhook"):
        get_connector_class("carrier-pigeon")


def test_secret_fields_are_the_secretstr_ones() -> None:
    assert secret_fields(SandboxConnector) == {"client_secret"}
    assert secret_fields(WebhookConnector) == {"secret", "headers"}  # headers may carry an API key
    assert secret_fields(get_connector_class("mirakl")) == {"api_key"}  # the shop key: sealed, never shown back


def test_build_connector_refuses_settings_that_do_not_fit() -> None:
    with pytest.raises(InvalidConnectorSettings, match="base_url"):
        standalone("sandbox", {"base_url": "ftp://x", "client_id": "a"}, {"client_secret": "s"})
    with pytest.raises(InvalidConnectorSettings, match="client_secret"):
        standalone("sandbox", {"base_url": "http://x", "client_id": "a"}, {})
    with pytest.raises(InvalidConnectorSettings, match="surprise"):
        standalone("webhook", {"url": "http://x", "surprise": 1}, {"secret": "s"})


# -- catalog ------------------------------------------------------------------------------------------


def test_it_lists_a_valid_product_and_returns_a_stable_item_id(make_connector: MakeConnector) -> None:
    connector = make_connector()
    first = connector.send_product(product_send())
    assert first.status == Status.SUCCESS, first.message
    assert first.external_ref and first.external_ref.startswith("MGLU")
    assert connector.send_product(product_send(name="Novo nome")).external_ref == first.external_ref


DEFECTS = [
    ("unknown category", {"category": "MGLU9999"}, "categoria_invalida", "A categoria MGLU9999 não existe"),
    ("non-leaf category", {"category": "MGLU1000"}, "categoria_invalida", "não é uma categoria folha"),
    (
        "missing attributes",
        {"brand": None, "attributes": {}},
        "atributo_obrigatorio",
        "Os atributos obrigatórios [BRAND, MODEL] não foram informados para a categoria MGLU1055",
    ),
    (
        "attribute value",
        {"category": "MGLU1580", "attributes": {"Voltagem": "380V"}},
        "valor_atributo_invalido",
        "Valor '380V' inválido para o atributo VOLTAGE",
    ),
    ("no description", {"description": " "}, "descricao_obrigatoria", "O produto não possui descrição"),
    ("no weight", {"weight_g": 0}, "peso_obrigatorio", "Este Sku não possui peso cadastrado"),
    ("bad check digit", {"ean": "7891234567890"}, "ean_invalido", "O EAN 7891234567890 é inválido"),
    ("SEM GTIN", {"ean": "SEM GTIN"}, "ean_invalido", "O EAN SEM GTIN é inválido"),
    ("GTIN required", {"ean": None}, "ean_obrigatorio", "O EAN é obrigatório para a categoria MGLU1055"),
    ("no images", {"images": []}, "imagem_obrigatoria", "ao menos uma imagem"),
    (
        "too many images",
        {"images": [f"https://cdn.example.com/{n}.jpg" for n in range(9)]},
        "imagens_excedidas",
        "O produto não pode ter mais de 8 imagens",
    ),
    (
        "gif image",
        {"images": ["https://cdn.example.com/a.gif"]},
        "imagem_invalida",
        "Erro ao baixar a imagem https://cdn.example.com/a.gif: formato de imagem não suportado",
    ),
    ("ftp image", {"images": ["ftp://cdn.example.com/a.jpg"]}, "imagem_invalida", "ftp://cdn.example.com/a.jpg"),
    ("restricted brand", {"brand": "LEGO"}, "marca_nao_autorizada", "A marca LEGO não está autorizada"),
]


@pytest.mark.parametrize(("changes", "code", "words"), [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS])
def test_each_catalog_defect_gets_the_marketplace_message(
    make_connector: MakeConnector, changes: dict[str, Any], code: str, words: str
) -> None:
    outcome = make_connector().send_product(product_send(**changes))
    assert outcome.status == Status.ERROR
    assert outcome.code == code
    assert words in outcome.message
    assert outcome.http_status in (400, 403)
    assert not outcome.transient and outcome.category is None  # left to the knowledge base


def test_a_brand_the_marketplace_must_approve_is_refused_in_its_own_words(make_connector: MakeConnector) -> None:
    outcome = make_connector("magalu").send_product(product_send(brand="Nike"))
    assert outcome.message == "A marca Nike não está autorizada para este seller"
    assert outcome.code == "marca_nao_autorizada"


def test_an_approved_brand_may_be_listed(sandbox: SandboxServer, make_connector: MakeConnector) -> None:
    sandbox.register_seller("magalu", SELLER, "secret", approved_brands=["Nike"])
    assert make_connector("magalu").send_product(product_send(brand="Nike")).status == Status.SUCCESS


def test_magalu_refuses_an_ean_with_a_bad_check_digit_in_portuguese(make_connector: MakeConnector) -> None:
    outcome = make_connector("magalu").send_product(product_send(category="MGLU1055", ean="7891234567891"))
    assert outcome.message == "O EAN 7891234567891 é inválido"


def test_a_listing_under_review_is_a_warning_and_blocks_price_and_stock(make_connector: MakeConnector) -> None:
    connector = make_connector()
    listed = connector.send_product(product_send("SUP-1", category="MGLU1292", ean=None, attributes={}))
    assert listed.status == Status.WARNING and "está em moderação" in listed.message
    price = connector.send_price(price_send("SUP-1", 100.0, 90.0))
    assert (
        price.message
        == f"O produto {listed.external_ref} está em moderação (under_review) e o preço não pode ser alterado"
    )
    stock = connector.send_inventory(stock_send("SUP-1", 5, 1))
    assert stock.message.endswith("e o estoque não pode ser alterado")
    assert stock.http_status == 409


# -- price and stock ----------------------------------------------------------------------------------


def test_price_and_stock_of_an_unknown_sku_say_the_item_is_not_linked(make_connector: MakeConnector) -> None:
    connector = make_connector("magalu")
    assert connector.send_price(price_send("NOPE", 10.0, 9.0)).message == "O produto pai não foi integrado"
    stock = connector.send_inventory(stock_send("NOPE", 1, 0))
    assert stock.message == "O produto pai não foi integrado" and stock.http_status == 404


@pytest.mark.parametrize(
    ("list_price", "price", "words"),
    [
        (100.0, 45.0, "Preço fora da faixa permitida para a categoria (50.0 a 20000.0)"),  # below 1055's 50
        (5000.0, 2000.0, "é inferior ao desconto máximo de 50%"),
        (100.0, 120.0, "deve ser positivo e não pode ser maior que o preço de"),
    ],
)
def test_it_refuses_prices_the_marketplace_rules_out(
    make_connector: MakeConnector, list_price: float, price: float, words: str
) -> None:
    connector = make_connector()
    connector.send_product(product_send())
    outcome = connector.send_price(price_send("CEL-001", list_price, price))
    assert outcome.status == Status.ERROR and words in outcome.message


def test_a_price_is_accepted_and_a_deep_discount_with_a_remark(
    sandbox: SandboxServer, make_connector: MakeConnector
) -> None:
    connector = make_connector()
    connector.send_product(product_send())
    assert connector.send_price(price_send("CEL-001", 2000.0, 1800.0)).status == Status.SUCCESS
    remark = connector.send_price(price_send("CEL-001", 2000.0, 1100.0))
    assert remark.status == Status.WARNING and "descontos acima de 40%" in remark.message
    assert admin_get(sandbox, "/magalu/_admin/items/CEL-001", seller=SELLER)["price"] == 1100.0


def test_it_refuses_negative_stock_and_pauses_on_zero(sandbox: SandboxServer, make_connector: MakeConnector) -> None:
    connector = make_connector()
    connector.send_product(product_send())
    negative = connector.send_inventory(stock_send("CEL-001", -2, 1))
    assert negative.status == Status.ERROR and "quantidade negativa (-2)" in negative.message
    assert connector.send_inventory(stock_send("CEL-001", 7, 2)).status == Status.SUCCESS
    assert admin_get(sandbox, "/magalu/_admin/items/CEL-001", seller=SELLER)["quantity"] == 7
    zero = connector.send_inventory(stock_send("CEL-001", 0, 2))
    assert zero.status == Status.WARNING and "pausado" in zero.message


# -- auth and limits ----------------------------------------------------------------------------------


def test_it_reuses_its_token_and_reauthenticates_once_when_it_expires(
    sandbox: SandboxServer, make_connector: MakeConnector
) -> None:
    connector = make_connector()
    assert connector.send_product(product_send()).status == Status.SUCCESS
    assert connector.send_product(product_send()).status == Status.SUCCESS
    assert requests_to(sandbox, "magalu", "POST /oauth/token") == 1
    sandbox.control("faults", expire_tokens=True)
    assert connector.send_product(product_send()).status == Status.SUCCESS
    assert requests_to(sandbox, "magalu", "POST /oauth/token") == 2
    assert sandbox.stats()["by_profile"]["magalu"]["PUT /items/*"] == {"200": 3, "401": 1}


def test_a_token_refused_again_after_reauthentication_is_an_auth_error(
    sandbox: SandboxServer, make_connector: MakeConnector
) -> None:
    sandbox.control("config", token_ttl=0)  # every token is dead on arrival
    outcome = make_connector().send_product(product_send())
    assert outcome.status == Status.ERROR and outcome.message == "Acesso Negado - Auth-token inválido ou inexistente"
    assert (outcome.category, outcome.disposition) == ("auth_invalid", Disposition.FIX)
    assert requests_to(sandbox, "magalu", "POST /oauth/token") == 2  # one retry, no storm


def test_a_wrong_secret_is_an_auth_error_and_the_secret_is_never_recorded(
    sandbox: SandboxServer, make_connector: MakeConnector
) -> None:
    sandbox.register_seller("magalu", SELLER, "the-right-one")
    outcome = make_connector(secret="the-wrong-one").send_product(product_send())
    assert outcome.message == "Acesso Negado - client_id ou client_secret inválido"
    assert (outcome.category, outcome.disposition, outcome.http_status) == ("auth_invalid", Disposition.FIX, 401)
    assert "the-wrong-one" not in json.dumps([outcome.request, outcome.response])
    assert outcome.request["body"]["client_secret"] == "***"


def test_the_access_token_never_appears_in_what_is_recorded(make_connector: MakeConnector) -> None:
    connector = make_connector()
    outcome = connector.send_product(product_send())
    assert isinstance(connector, SandboxConnector) and connector._token
    assert connector._token not in json.dumps([outcome.request, outcome.response])


def test_429_is_transient_and_carries_retry_after(sandbox: SandboxServer, make_connector: MakeConnector) -> None:
    sandbox.control("config", rate=0.2, burst=1)
    connector = make_connector("magalu")
    connector.send_product(product_send())
    outcome = connector.send_price(price_send("CEL-001", 100.0, 90.0))
    assert outcome.http_status == 429 and outcome.transient
    assert (outcome.category, outcome.disposition) == ("rate_limited", Disposition.TRANSIENT)
    assert outcome.retry_after is not None and outcome.retry_after >= 1
    assert outcome.message == "Limite de requisições excedido. Aguarde alguns segundos e tente novamente"


def test_test_connection_names_the_seller(make_connector: MakeConnector) -> None:
    outcome = make_connector("magalu").test_connection()
    assert outcome.status == Status.SUCCESS and outcome.message == f"Connected to Magalu as seller {SELLER}"


# -- faults -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "words"),
    [
        ({"error_rate": 1.0, "status": 502}, "Serviço temporariamente indisponível (502 Bad Gateway)"),
        ({"error_rate": 1.0, "status": 500}, "Serviço temporariamente indisponível (500 Internal Server Error)"),
        ({"drop_rate": 1.0}, "connection dropped"),
        ({"malformed_rate": 1.0}, "malformed JSON"),
        ({"huge_rate": 1.0}, "response too large"),
        ({"slow_ms": 1500}, "timeout"),
    ],
)
def test_a_misbehaving_marketplace_gives_a_transient_outcome(
    sandbox: SandboxServer, make_connector: MakeConnector, faults: dict[str, Any], words: str
) -> None:
    connector = make_connector(timeout=0.5)
    connector.send_product(product_send())  # token and listing before the trouble starts
    sandbox.control("faults", **faults)
    outcome = connector.send_inventory(stock_send("CEL-001", 3, 1))
    assert outcome.status == Status.ERROR and outcome.transient
    assert (outcome.category, outcome.disposition) == ("marketplace_unavailable", Disposition.TRANSIENT)
    assert words in outcome.message


def test_a_huge_answer_is_read_no_further_than_the_body_limit(sandbox: SandboxServer) -> None:
    connector = standalone(
        "sandbox",
        {"base_url": sandbox.url, "profile": "magalu", "client_id": SELLER},
        {"client_secret": "secret"},
        code="MLB",
        body_limit=1000,
    )
    connector.send_product(product_send())
    sandbox.control("faults", huge_rate=1.0)
    outcome = connector.send_price(price_send("CEL-001", 100.0, 90.0))
    connector.close()
    assert outcome.transient and len(outcome.response["body"]) <= 1000


# -- orders and tracking ------------------------------------------------------------------------------


BUYER = {"name": "Ana Souza", "document": "52998224725", "email": "ana@example.com", "phone": "+5511988887777"}


@pytest.mark.parametrize("profile", ["magalu"])
def test_fetched_orders_have_one_shape_whatever_the_marketplace(
    sandbox: SandboxServer, make_connector: MakeConnector, profile: str
) -> None:
    items = [{"sku": "CEL-001", "quantity": 2, "price": 1500.0}]
    order_id = sandbox.place_order(profile, SELLER, items, postal_code="01310-100", buyer=BUYER, shipping_total=25.5)
    page = make_connector(profile).fetch_orders(None)
    assert page.outcome is not None and page.outcome.status == Status.SUCCESS
    (order,) = page.orders
    assert order["id"] == order_id
    assert order["items"] == items
    assert (order["postal_code"], order["buyer"]) == ("01310-100", BUYER)
    assert (order["total"], order["shipping_total"]) == (3025.5, 25.5)
    assert order["created_at"]


def test_the_feed_cursor_moves_on_and_nothing_is_read_twice(
    sandbox: SandboxServer, make_connector: MakeConnector
) -> None:
    connector = make_connector()
    first = sandbox.place_order("magalu", SELLER, [{"sku": "A", "quantity": 1, "price": 10.0}])
    page = connector.fetch_orders(None)
    assert [o["id"] for o in page.orders] == [first]
    assert connector.fetch_orders(page.cursor).orders == []
    second = sandbox.place_order("magalu", SELLER, [{"sku": "B", "quantity": 1, "price": 10.0}])
    later = connector.fetch_orders(page.cursor)
    assert [o["id"] for o in later.orders] == [second] and later.cursor != page.cursor


def test_a_feed_that_cannot_be_read_keeps_the_cursor(sandbox: SandboxServer, make_connector: MakeConnector) -> None:
    sandbox.control("faults", error_rate=1.0)
    page = make_connector().fetch_orders("3")
    assert page.orders == [] and page.cursor == "3"
    assert page.outcome is not None and page.outcome.transient


def test_it_acknowledges_an_order_with_the_integration_result(
    sandbox: SandboxServer, make_connector: MakeConnector
) -> None:
    order_id = sandbox.place_order("magalu", SELLER, [{"sku": "A", "quantity": 1, "price": 10.0}])
    outcome = make_connector("magalu").acknowledge_order(order_id, Outcome.error("Os skus não possuem estoque"))
    assert outcome.status == Status.SUCCESS
    ack = admin_get(sandbox, f"/magalu/_admin/orders/{order_id}")["ack"]
    assert ack == {"status": "rejected", "message": "Os skus não possuem estoque"}


def tracking(order_id: str, **changes: Any) -> dict[str, Any]:
    data = {
        "order_id": order_id,
        "invoice_key": nfe_key(),
        "carrier": "Correios",
        "tracking_number": "AA123456789BR",
        "items": [{"sku": "A", "quantity": 1}],
    }
    return {**data, **changes}


def test_it_sends_tracking_with_a_valid_invoice_key(sandbox: SandboxServer, make_connector: MakeConnector) -> None:
    order_id = sandbox.place_order("magalu", SELLER, [{"sku": "A", "quantity": 1, "price": 10.0}])
    outcome = make_connector("magalu").send_tracking(tracking_send(tracking(order_id)))
    assert outcome.status == Status.SUCCESS and outcome.external_ref == f"{order_id}-S1"
    assert admin_get(sandbox, f"/magalu/_admin/orders/{order_id}")["shipments"][0]["tracking_number"] == "AA123456789BR"


def test_it_refuses_an_invoice_key_with_a_bad_check_digit(
    sandbox: SandboxServer, make_connector: MakeConnector
) -> None:
    order_id = sandbox.place_order("magalu", SELLER, [{"sku": "A", "quantity": 1, "price": 10.0}])
    key = nfe_key()
    wrong = key[:-1] + str((int(key[-1]) + 1) % 10)
    outcome = make_connector("magalu").send_tracking(tracking_send(tracking(order_id, invoice_key=wrong)))
    assert outcome.status == Status.ERROR and outcome.message == "Pedido com chave da nota inválida"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"tracking_number": ""}, "O código de rastreio é obrigatório"),
        ({"invoice_key": "123"}, "Pedido com chave da nota inválida"),
        ({"items": [{"sku": "A", "quantity": 3}]}, "A quantidade do sku A na nota diverge da quantidade do pedido"),
        ({"order_id": "2999999999"}, "Pedido 2999999999 não encontrado"),
    ],
)
def test_it_refuses_tracking_the_marketplace_cannot_accept(
    sandbox: SandboxServer, make_connector: MakeConnector, changes: dict[str, Any], words: str
) -> None:
    order_id = sandbox.place_order("magalu", SELLER, [{"sku": "A", "quantity": 1, "price": 10.0}])
    outcome = make_connector().send_tracking(tracking_send({**tracking(order_id), **changes}))
    assert outcome.status == Status.ERROR and words in outcome.message


def test_tracking_a_cancelled_order_is_a_state_conflict(sandbox: SandboxServer, make_connector: MakeConnector) -> None:
    import httpx

    order_id = sandbox.place_order("magalu", SELLER, [{"sku": "A", "quantity": 1, "price": 10.0}])
    httpx.post(f"{sandbox.url}/magalu/_buyer/orders/{order_id}/cancel").raise_for_status()
    outcome = make_connector().send_tracking(tracking_send(tracking(order_id)))
    assert outcome.http_status == 409 and "já está cancelado" in outcome.message


# -- webhook ------------------------------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """A tiny ERP: checks the signature and answers as told."""

    secret = "erp-shared-secret"
    answer: tuple[int, dict[str, Any]] = (200, {"message": "Pedido recebido", "id": "ERP-1"})
    received: list[dict[str, Any]]


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not verify(self.server.secret, body, self.headers.get("X-Ponte-Signature", "")):
            status, answer = 401, {"message": "assinatura inválida"}
        else:
            self.server.received.append({"headers": dict(self.headers), "body": json.loads(body)})
            status, answer = self.server.answer
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), ReceiverHandler)
    server.received = []
    allow_outbound(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def webhook(receiver: Receiver, secret: str = Receiver.secret) -> Connector:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/ponte"
    return standalone("webhook", {"url": url, "headers": {"X-Tenant": "loja"}}, {"secret": secret}, code="ERP")


def test_the_webhook_delivers_a_signed_order_and_keeps_the_receivers_message(receiver: Receiver) -> None:
    outcome = webhook(receiver).send_order(order_send("2000000001"))
    assert outcome.status == Status.SUCCESS
    assert (outcome.message, outcome.external_ref) == ("Pedido recebido", "ERP-1")
    (delivery,) = receiver.received
    assert delivery["body"]["event"] == "order" and delivery["body"]["data"]["order_id"] == "2000000001"
    assert delivery["headers"]["X-Ponte-Delivery"] == delivery["body"]["delivery_id"]
    assert delivery["headers"]["X-Ponte-Timestamp"] == str(delivery["body"]["timestamp"])
    assert delivery["headers"]["X-Tenant"] == "loja"


def test_a_webhook_signed_with_the_wrong_secret_is_refused_as_a_settings_error(receiver: Receiver) -> None:
    outcome = webhook(receiver, secret="not-it").send_order(order_send("1"))
    assert outcome.status == Status.ERROR and outcome.message == "assinatura inválida"
    assert (outcome.category, outcome.disposition) == ("integration_config", Disposition.FIX)
    assert receiver.received == []


def test_a_webhook_4xx_is_an_error_in_the_receivers_words(receiver: Receiver) -> None:
    receiver.answer = (422, {"message": "PEDIDO 1 Interface = 15 Msg = transportadora nao cadastrada"})
    outcome = webhook(receiver).send_order(order_send("1"))
    assert outcome.status == Status.ERROR and not outcome.transient
    assert outcome.message == "PEDIDO 1 Interface = 15 Msg = transportadora nao cadastrada"


def test_a_webhook_5xx_or_an_absent_receiver_is_transient(receiver: Receiver) -> None:
    receiver.answer = (503, {"message": "ERP em manutenção"})
    assert webhook(receiver).send_order(order_send("1")).transient
    allow_outbound("http://127.0.0.1:9")  # allowed by the operator, and nothing listens there
    gone = standalone("webhook", {"url": "http://127.0.0.1:9/"}, {"secret": "s"}, code="ERP", timeout=1.0)
    outcome = gone.send_order(order_send("1"))
    assert outcome.transient and "connection failed" in outcome.message


def test_the_webhook_connection_test_is_a_signed_ping(receiver: Receiver) -> None:
    assert webhook(receiver).test_connection().status == Status.SUCCESS
    assert receiver.received[0]["body"]["event"] == "ping"
